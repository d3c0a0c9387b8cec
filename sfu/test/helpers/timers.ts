import { createHook } from 'node:async_hooks';

/**
 * Follows the timers created from now on until they are cleared or have run (counting every timer of the process
 * instead would see unrelated ones expire meanwhile on a slow machine). `stop()` ends the following.
 */
export function trackNewTimers(): { readonly live: ReadonlySet<number>; stop(): void } {
  const live = new Set<number>();
  const hook = createHook({
    init: (id, type) => {
      if (type === 'Timeout') live.add(id);
    },
    destroy: (id) => {
      live.delete(id);
    },
  }).enable();
  return { live, stop: () => hook.disable() };
}
