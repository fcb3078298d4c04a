import type { Findings } from "../../../src/dashboard/api-schema.js";
import { shortName, useApi } from "../api.js";
import { Status } from "../status.js";

const KINDS: Readonly<Record<string, string>> = {
  unused_scope: "Scope granted, never needed",
  unused_permission: "Tool permitted, never called",
  dormant_agent: "Dormant agent",
  unknown_owner: "Unknown owner",
  approvals_always_granted: "Approvals always granted",
};

/** Least-privilege findings, each with the change to make. */
export function FindingsPage() {
  const findings = useApi<Findings>("/api/findings");
  return (
    <section aria-labelledby="findings-title">
      <h2 id="findings-title">Least privilege</h2>
      <Status loaded={findings} />
      {findings.state === "ok" && (
        <>
          <p>
            {findings.value.findings.length} findings from the verified log
            {findings.value.policiesAsked
              ? ", the Cedar policies asked for every tool seen"
              : " (the Cedar policies did not load: permitted tools were not asked)"}
            ; dormant after {findings.value.dormantDays} days.
          </p>
          <div class="scroll">
            <table data-testid="findings">
              <caption>Findings, with the suggested change</caption>
              <thead>
                <tr>
                  <th scope="col">Severity</th>
                  <th scope="col">Finding</th>
                  <th scope="col">Agent</th>
                  <th scope="col">What was found</th>
                  <th scope="col">Suggested change</th>
                </tr>
              </thead>
              <tbody>
                {findings.value.findings.map((finding, index) => (
                  <tr key={`${finding.kind}-${finding.agent}-${index}`} data-kind={finding.kind}>
                    <td>
                      <span class={`badge ${finding.severity}`}>{finding.severity}</span>
                    </td>
                    <td>{KINDS[finding.kind] ?? finding.kind}</td>
                    <td title={finding.agent}>{shortName(finding.agent)}</td>
                    <td>{finding.summary}</td>
                    <td>
                      <code>{finding.suggestion}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
