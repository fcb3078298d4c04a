import type { Inventory } from "../../../src/dashboard/api-schema.js";
import { shortTime, useApi } from "../api.js";
import { ActivityChart } from "../chart.js";
import { href } from "../route.js";
import { Status } from "../status.js";

/** Every agent: owner, team, purpose, supervision, dates, activity. */
export function InventoryPage() {
  const inventory = useApi<Inventory>("/api/inventory");
  return (
    <section aria-labelledby="inventory-title">
      <h2 id="inventory-title">Inventory</h2>
      <Status loaded={inventory} />
      {inventory.state === "ok" && (
        <div class="scroll">
          <table data-testid="inventory">
            <caption>
              Every registered agent, and any the log names that the registry does not
            </caption>
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Owner</th>
                <th scope="col">Team</th>
                <th scope="col">Purpose</th>
                <th scope="col">Supervision</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last active</th>
                <th scope="col" class="number">
                  Calls
                </th>
                <th scope="col" class="number">
                  Denials
                </th>
                <th scope="col" class="number">
                  Delegations
                </th>
              </tr>
            </thead>
            <tbody>
              {inventory.value.agents.map((agent) => (
                <tr key={agent.agent} data-agent={agent.agent}>
                  <th scope="row">
                    <a href={href("activity", { agent: agent.agent })} title={agent.agent}>
                      {agent.displayName}
                    </a>
                    {agent.revoked && <span class="badge bad"> revoked</span>}
                  </th>
                  <td>{agent.owner || <span class="badge bad">no owner</span>}</td>
                  <td>{agent.team ?? "—"}</td>
                  <td>{agent.purpose ?? "—"}</td>
                  <td>
                    <span class={`badge ${agent.supervision}`}>{agent.supervision}</span>
                  </td>
                  <td>{shortTime(agent.createdAt).slice(0, 10)}</td>
                  <td>{agent.expiresAt ? shortTime(agent.expiresAt).slice(0, 10) : "never"}</td>
                  <td>{shortTime(agent.lastActive)}</td>
                  <td class="number">{agent.calls}</td>
                  <td class="number">{agent.denials}</td>
                  <td class="number">{agent.delegations}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ActivityChart />
    </section>
  );
}
