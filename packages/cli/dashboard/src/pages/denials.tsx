import type { Denials } from "../../../src/dashboard/api-schema.js";
import { shortName, shortTime, useApi } from "../api.js";
import { href } from "../route.js";
import { Status } from "../status.js";

type Group = Denials["byReason"][number];

function Groups({
  title,
  groups,
  total,
  testId,
}: {
  title: string;
  groups: readonly Group[];
  total: number;
  testId: string;
}) {
  return (
    <div class="scroll">
      <table data-testid={testId}>
        <caption>{title}</caption>
        <thead>
          <tr>
            <th scope="col">{testId === "by-policy" ? "Policy" : "Reason"}</th>
            <th scope="col" class="number">
              Denials
            </th>
            <th scope="col">Share</th>
            <th scope="col">Codes</th>
            <th scope="col">Agents</th>
            <th scope="col">Tools</th>
            <th scope="col">Latest</th>
          </tr>
        </thead>
        <tbody>
          {groups.map((group) => (
            <tr key={group.key}>
              <th scope="row">{group.key}</th>
              <td class="number">{group.count}</td>
              <td>
                <meter
                  min={0}
                  max={total}
                  value={group.count}
                  aria-label={`${group.count} of ${total}`}
                />
              </td>
              <td>{group.codes.join(", ")}</td>
              <td>
                {group.agents.map((agent) => (
                  <a
                    key={agent}
                    href={href("activity", { agent, outcome: "denied" })}
                    title={agent}
                  >
                    {shortName(agent)}{" "}
                  </a>
                ))}
              </td>
              <td>{group.tools.join(", ")}</td>
              <td>
                {group.events[0] ? (
                  <a href={href(`event/${encodeURIComponent(group.events[0])}`)}>
                    {shortTime(group.last)}
                  </a>
                ) : (
                  "—"
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Denials grouped by the administrator's reason and by the deciding policy. */
export function DenialsPage() {
  const denials = useApi<Denials>("/api/denials");
  return (
    <section aria-labelledby="denials-title">
      <h2 id="denials-title">Denials</h2>
      <Status loaded={denials} />
      {denials.state === "ok" && (
        <>
          <p>{denials.value.total} denied calls in the verified log.</p>
          <Groups
            title="By reason"
            groups={denials.value.byReason}
            total={denials.value.total}
            testId="by-reason"
          />
          <Groups
            title="By deciding policy"
            groups={denials.value.byPolicy}
            total={denials.value.total}
            testId="by-policy"
          />
        </>
      )}
    </section>
  );
}
