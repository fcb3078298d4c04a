import type { Loaded } from "./api.js";

/** "Loading…" or the error of a GET; nothing once it has loaded. */
export function Status<T>({ loaded }: { loaded: Loaded<T> }) {
  if (loaded.state === "loading") return <p aria-live="polite">Loading…</p>;
  if (loaded.state === "error")
    return (
      <p role="alert" class="alarm">
        {loaded.error}
      </p>
    );
  return null;
}
