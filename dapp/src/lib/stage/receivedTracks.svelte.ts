// What this page's WebRTC playback receives, by the producer each track comes from: the stage view matches these with
// the stage's members (`stage:members` names every member's producers) to show one tile per camera and screen.

/** A track the WebRTC player receives. */
export interface ReceivedTrack {
  streamId: string;
  producerId: string;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
}

/** The tracks the page's WebRTC players receive, reactive for the stage view. */
class ReceivedTracks {
  /** Every received track, in the order they came. */
  list = $state.raw<ReceivedTrack[]>([]);

  /** A consumer's track arrived (a later one of the same producer replaces it). */
  add(t: ReceivedTrack): void {
    this.list = [...this.list.filter((x) => x.producerId !== t.producerId), t];
  }

  /** The player stopped: its tracks are gone. */
  remove(tracks: readonly MediaStreamTrack[]): void {
    const gone = new Set(tracks);
    this.list = this.list.filter((x) => !gone.has(x.track));
  }

  /** The received tracks of a stream, by producer id. */
  of(streamId: string): Map<string, ReceivedTrack> {
    return new Map(this.list.filter((x) => x.streamId === streamId).map((x) => [x.producerId, x]));
  }
}

/** The page's received tracks (one page plays one stream at a time; keyed by stream all the same). */
export const receivedTracks = new ReceivedTracks();
