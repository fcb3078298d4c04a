import { useEffect, useState } from "preact/hooks";

/** GETs one answer of the dashboard's API (same origin, the session cookie goes with it). */
export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, {
    credentials: "same-origin",
    headers: { accept: "application/json" },
  });
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("login required");
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** A GET's state: loading, its value, or its error. */
export type Loaded<T> =
  | { state: "loading" }
  | { state: "ok"; value: T }
  | { state: "error"; error: string };

/** Loads `path` whenever it changes. */
export function useApi<T>(path: string): Loaded<T> {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: "loading" });
  useEffect(() => {
    let live = true;
    setLoaded({ state: "loading" });
    getJson<T>(path).then(
      (value) => live && setLoaded({ state: "ok", value }),
      (error: unknown) => live && setLoaded({ state: "error", error: String(error) }),
    );
    return () => {
      live = false;
    };
  }, [path]);
  return loaded;
}

/** The short name of an agent id (`spiffe://acme.example/agent/support` → `support`). */
export function shortName(id: string | undefined): string {
  if (id === undefined) return "";
  return id.startsWith("spiffe://") ? id.slice(id.lastIndexOf("/") + 1) : id;
}

/** An ISO instant as `2026-01-05 09:00:00Z`. */
export function shortTime(iso: string | undefined): string {
  if (iso === undefined || iso === "") return "—";
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}
