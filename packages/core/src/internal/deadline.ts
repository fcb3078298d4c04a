interface Waiting {
  readonly at: number;
  readonly expire: () => void;
}

type Timer = ReturnType<typeof setTimeout> & { ref?: () => unknown; unref?: () => unknown };

const waiting = new Set<Waiting>();
let timer: Timer | undefined;
let timerAt = Number.POSITIVE_INFINITY;

/**
 * `promise` (passed through `accept`, its rejection through `refuse`), or a rejection with
 * `onTimeout()` once `ms` have passed, whichever comes first; a late settlement is ignored. One
 * timer serves every pending deadline in the process (armed for the earliest, and holding the
 * process open only while something waits), instead of a timer set and cleared on every call:
 * the gate decides thousands of times a second, and almost every decision settles within
 * microseconds. `accept` and `refuse` save the caller a promise of its own on that hot path.
 */
export function withDeadline<T, U = T>(
  promise: T | PromiseLike<T>,
  ms: number,
  onTimeout: () => Error,
  accept: (value: T) => U = (value) => value as unknown as U,
  refuse: (error: unknown) => unknown = (error) => error,
): Promise<U> {
  return new Promise<U>((resolve, reject) => {
    const entry: Waiting = { at: performance.now() + ms, expire: () => reject(onTimeout()) };
    waiting.add(entry);
    arm(entry.at);
    Promise.resolve(promise).then(
      (value) => {
        release(entry);
        try {
          resolve(accept(value));
        } catch (error) {
          reject(error);
        }
      },
      (error: unknown) => {
        release(entry);
        reject(refuse(error));
      },
    );
  });
}

function arm(at: number): void {
  if (timer !== undefined && timerAt <= at) {
    if (waiting.size === 1) timer.ref?.();
    return;
  }
  if (timer !== undefined) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(sweep, Math.max(0, at - performance.now())) as Timer;
}

function release(entry: Waiting): void {
  waiting.delete(entry);
  if (waiting.size > 0 || timer === undefined) return;
  // Nothing waits: the timer must not keep the process alive. Where timers cannot be unreferenced,
  // it is cleared instead.
  if (timer.unref !== undefined) timer.unref();
  else {
    clearTimeout(timer);
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
  }
}

function sweep(): void {
  timer = undefined;
  timerAt = Number.POSITIVE_INFINITY;
  const now = performance.now();
  let next = Number.POSITIVE_INFINITY;
  for (const entry of waiting) {
    if (entry.at <= now) {
      waiting.delete(entry);
      entry.expire();
    } else if (entry.at < next) next = entry.at;
  }
  if (next !== Number.POSITIVE_INFINITY) arm(next);
}
