/** Parts of a stream's chat an event goes to in turn (each socket in the chat is in one). */
export const CHAT_FANOUT_SLICES = 16;

/**
 * The Socket.IO room of one part of a stream's chat: each socket in the chat is also in one of these (the node deals
 * its sockets out in turn), and the chat's busy events go to the parts one after another. On every node, through the
 * adapter, like the chat's room.
 */
export function chatSliceRoom(streamId: string, slice: number): string {
  return `chat-slice:${streamId}:${slice}`;
}

/** Whether `room` is a part of the stream's chat. */
export function isChatSliceRoom(room: string, streamId: string): boolean {
  return room.startsWith(`chat-slice:${streamId}:`);
}

/**
 * Calls `send` with each part of a stream's chat, a turn of the event loop apart: a write to every socket of a large
 * room takes tens of milliseconds on one thread, and the meter's vouchers and timers (and the next messages) run
 * between the parts instead of waiting behind it.
 */
export async function inChatSlices(streamId: string, slices: number, send: (room: string) => void): Promise<void> {
  for (let slice = 0; slice < slices; slice++) {
    if (slice > 0) await new Promise((resolve) => setImmediate(resolve));
    send(chatSliceRoom(streamId, slice));
  }
}
