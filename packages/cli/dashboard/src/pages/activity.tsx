import type { Activity } from "../../../src/dashboard/api-schema.js";
import { shortName, shortTime, useApi } from "../api.js";
import { ActivityChart } from "../chart.js";
import { href } from "../route.js";
import { Status } from "../status.js";

const FILTERS = ["agent", "tool", "outcome", "principal"] as const;
const OUTCOMES = ["allowed", "denied", "succeeded", "failed"];

/** The timeline with its filters (kept in the URL, so a filtered view can be shared). */
export function ActivityPage({ params }: { params: URLSearchParams }) {
  const query = new URLSearchParams();
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  const activity = useApi<Activity>(`/api/activity?${query.toString()}`);
  const choose = (name: string, value: string) => {
    const next: Record<string, string | undefined> = {};
    for (const filter of FILTERS) next[filter] = params.get(filter) ?? undefined;
    next[name] = value;
    window.location.hash = href("activity", next);
  };
  const facets =
    activity.state === "ok" ? activity.value.facets : { agents: [], tools: [], principals: [] };
  const choices: Record<(typeof FILTERS)[number], readonly string[]> = {
    agent: facets.agents,
    tool: facets.tools,
    outcome: OUTCOMES,
    principal: facets.principals,
  };
  return (
    <section aria-labelledby="activity-title">
      <h2 id="activity-title">Activity</h2>
      <form
        class="filters"
        aria-label="Filter the timeline"
        onSubmit={(event) => event.preventDefault()}
      >
        {FILTERS.map((name) => (
          <div class="filter" key={name}>
            <label for={`filter-${name}`}>
              {name[0]?.toUpperCase()}
              {name.slice(1)}
            </label>
            <select
              id={`filter-${name}`}
              name={name}
              data-testid={`filter-${name}`}
              value={params.get(name) ?? ""}
              onChange={(event) => choose(name, (event.target as HTMLSelectElement).value)}
            >
              <option value="">any</option>
              {choices[name].map((value) => (
                <option key={value} value={value}>
                  {name === "agent" || name === "principal"
                    ? `${shortName(value)} (${value})`
                    : value}
                </option>
              ))}
            </select>
          </div>
        ))}
        <a href={href("activity")}>Clear filters</a>
      </form>
      <Status loaded={activity} />
      {activity.state === "ok" && (
        <>
          <p aria-live="polite" data-testid="activity-count">
            {activity.value.total} event{activity.value.total === 1 ? "" : "s"}
            {activity.value.total > activity.value.events.length
              ? `, the newest ${activity.value.events.length} shown`
              : ""}
          </p>
          <div class="scroll">
            <table data-testid="timeline">
              <caption>Events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Type</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Principal</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {activity.value.events.map((event) => (
                  <tr key={event.id} data-event={event.id}>
                    <td>{shortTime(event.time)}</td>
                    <td>{event.type}</td>
                    <td title={event.agent}>{shortName(event.agent)}</td>
                    <td title={event.principal}>
                      {shortName(event.principal)}
                      {event.delegated && <span class="badge"> delegated</span>}
                    </td>
                    <td>{event.tool ?? "—"}</td>
                    <td>
                      {event.outcome && (
                        <span class={`badge ${event.outcome}`}>{event.outcome}</span>
                      )}
                    </td>
                    <td>{event.reason ?? ""}</td>
                    <td>
                      <a
                        href={href(`event/${encodeURIComponent(event.id)}`)}
                        aria-label={`Event ${event.seq} of ${event.writer}`}
                      >
                        #{event.seq}
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      <ActivityChart />
    </section>
  );
}
