import type { EventDetail } from "../../../src/dashboard/api-schema.js";
import { shortTime, useApi } from "../api.js";
import { href } from "../route.js";
import { Status } from "../status.js";

const NODE_WIDTH = 170;
const GAP = 70;

/** The delegation chain as a graph: principal → delegates → acting agent, in SVG. */
function ChainGraph({ graph }: { graph: EventDetail["graph"] }) {
  const width = graph.nodes.length * NODE_WIDTH + (graph.nodes.length - 1) * GAP + 20;
  const describe = graph.nodes.map((node) => `${node.label} (${node.role})`).join(", then ");
  return (
    <figure>
      <svg
        data-testid="chain-graph"
        viewBox={`0 0 ${Math.max(width, 200)} 110`}
        width={Math.max(width, 200)}
        height={110}
        role="img"
        aria-label={`Delegation chain: ${describe}`}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="10"
            refY="5"
            markerWidth="8"
            markerHeight="8"
            orient="auto-start-reverse"
          >
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
          </marker>
        </defs>
        {graph.nodes.map((node, index) => {
          const x = 10 + index * (NODE_WIDTH + GAP);
          return (
            <g key={`${node.id}-${index}`} class={`node ${node.role}`} data-node={node.id}>
              <rect x={x} y={30} width={NODE_WIDTH} height={50} rx={8} />
              <text x={x + NODE_WIDTH / 2} y={52} text-anchor="middle" class="label">
                {node.label}
              </text>
              <text x={x + NODE_WIDTH / 2} y={70} text-anchor="middle" class="role">
                {node.role} · {node.kind}
              </text>
              <title>{node.id}</title>
            </g>
          );
        })}
        {graph.edges.map((edge, index) => {
          const x = 10 + index * (NODE_WIDTH + GAP) + NODE_WIDTH;
          return (
            <g key={`edge-${index}`} class="edge">
              <line x1={x} y1={55} x2={x + GAP} y2={55} marker-end="url(#arrow)" />
              <text x={x + GAP / 2} y={45} text-anchor="middle" class="role">
                {edge.label}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        {graph.nodes.length > 1 ? "Delegated call: " : "Direct call: "}
        <ol class="chain" data-testid="chain-list">
          {graph.nodes.map((node, index) => (
            <li key={`${node.id}-${index}`}>
              {node.id} <em>({node.role})</em>
            </li>
          ))}
        </ol>
      </figcaption>
    </figure>
  );
}

/** One event: its fields, its chain as a graph, the other events of its call, the raw record. */
export function EventPage({ id }: { id: string }) {
  const detail = useApi<EventDetail>(`/api/events/${encodeURIComponent(id)}`);
  return (
    <section aria-labelledby="event-title">
      <p>
        <a href={href("activity")}>← Activity</a>
      </p>
      <Status loaded={detail} />
      {detail.state === "ok" && (
        <>
          <h2 id="event-title">
            Event #{detail.value.summary.seq} ({detail.value.summary.type},{" "}
            {detail.value.summary.writer})
          </h2>
          <dl class="fields" data-testid="event-fields">
            <dt>Time</dt>
            <dd>{shortTime(detail.value.summary.time)}</dd>
            <dt>Agent</dt>
            <dd>{detail.value.summary.agent ?? "—"}</dd>
            <dt>Principal</dt>
            <dd>{detail.value.summary.principal ?? "—"}</dd>
            <dt>Tool</dt>
            <dd>
              {detail.value.summary.tool ?? "—"}{" "}
              {detail.value.summary.action && `(${detail.value.summary.action})`}
            </dd>
            <dt>Outcome</dt>
            <dd>
              {detail.value.summary.outcome ?? "—"}{" "}
              {detail.value.summary.code && `(${detail.value.summary.code})`}
            </dd>
            <dt>Reason</dt>
            <dd>{detail.value.summary.reason ?? "—"}</dd>
          </dl>
          <h3>Delegation chain</h3>
          <ChainGraph graph={detail.value.graph} />
          {detail.value.related.length > 0 && (
            <>
              <h3>The same tool call</h3>
              <ul>
                {detail.value.related.map((event) => (
                  <li key={event.id}>
                    <a href={href(`event/${encodeURIComponent(event.id)}`)}>
                      #{event.seq} {event.type}
                    </a>{" "}
                    {event.outcome ?? ""}
                  </li>
                ))}
              </ul>
            </>
          )}
          <h3>The record as the log holds it</h3>
          <pre data-testid="event-record">{JSON.stringify(detail.value.record, null, 2)}</pre>
        </>
      )}
    </section>
  );
}
