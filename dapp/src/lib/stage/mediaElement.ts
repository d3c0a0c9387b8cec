// Plays a received track in a media element (a Svelte attachment).

/** Attaches `track` (none: nothing) to the element and starts it playing. */
export function playTrack(track: MediaStreamTrack | undefined): (node: HTMLMediaElement) => () => void {
  return (node) => {
    node.srcObject = track ? new MediaStream([track]) : null;
    if (track) node.play().catch(() => undefined);
    return () => {
      node.srcObject = null;
    };
  };
}
