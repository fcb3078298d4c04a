import { useEffect, useState } from "preact/hooks";

/** The page the hash names: `#/activity?agent=…` → `{ page: "activity", params }`. */
export interface Route {
  readonly page: string;
  readonly arg?: string;
  readonly params: URLSearchParams;
}

function parse(hash: string): Route {
  const [path = "", query = ""] = hash.replace(/^#\/?/, "").split("?", 2);
  const [page = "inventory", arg] = path.split("/", 2);
  return {
    page: page || "inventory",
    ...(arg ? { arg: decodeURIComponent(arg) } : {}),
    params: new URLSearchParams(query),
  };
}

/** The current route, following hash changes (links and the back button). */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(window.location.hash));
  useEffect(() => {
    const changed = () => setRoute(parse(window.location.hash));
    window.addEventListener("hashchange", changed);
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** A hash link to a page with parameters (empty ones left out). */
export function href(page: string, params: Record<string, string | undefined> = {}): string {
  const query = new URLSearchParams(
    Object.entries(params).filter(
      (entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== "",
    ),
  ).toString();
  return `#/${page}${query ? `?${query}` : ""}`;
}
