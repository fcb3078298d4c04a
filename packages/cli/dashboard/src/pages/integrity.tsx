import type { Integrity } from "../../../src/dashboard/api-schema.js";
import { shortTime, useApi } from "../api.js";
import { Status } from "../status.js";

/** Every chain: verified up to which record, against which checkpoint, anchored or not. */
export function IntegrityPage() {
  const integrity = useApi<Integrity>("/api/integrity");
  return (
    <section aria-labelledby="integrity-title">
      <h2 id="integrity-title">Integrity</h2>
      <Status loaded={integrity} />
      {integrity.state === "ok" && (
        <>
          <p data-testid="integrity-status" class={integrity.value.ok ? "ok" : "alarm"}>
            {integrity.value.ok
              ? "Every chain of the audit log verifies."
              : "The audit log does NOT verify."}{" "}
            {integrity.value.anchored ? (
              <span class="badge ok">anchored by {integrity.value.witness ?? "a witness"}</span>
            ) : (
              <span class="badge bad" data-testid="not-anchored-badge">
                not anchored
              </span>
            )}
          </p>
          <div class="scroll">
            <table data-testid="chains">
              <caption>Chains (the log's own, then each writer's)</caption>
              <thead>
                <tr>
                  <th scope="col">Chain</th>
                  <th scope="col">Status</th>
                  <th scope="col">Verified up to record</th>
                  <th scope="col">Last checkpoint</th>
                  <th scope="col">Witness</th>
                  <th scope="col">Not yet covered</th>
                </tr>
              </thead>
              <tbody>
                {integrity.value.chains.map((chain) => (
                  <tr key={chain.writer} data-chain={chain.writer}>
                    <th scope="row">{chain.writer}</th>
                    <td>
                      {chain.ok ? (
                        <span class="badge ok">verifies</span>
                      ) : (
                        <span class="badge bad">
                          broken at #{chain.firstBadSeq ?? "?"} ({chain.check}): {chain.reason}
                        </span>
                      )}
                    </td>
                    <td>
                      {chain.verifiedThroughSeq === undefined
                        ? "none"
                        : `#${chain.verifiedThroughSeq} (${chain.records} records)`}
                    </td>
                    <td>
                      {chain.checkpoint
                        ? `${chain.checkpoint.size} records, signed by the ${chain.checkpoint.signedBy}${chain.checkpoint.time ? ` at ${shortTime(chain.checkpoint.time)}` : ""}`
                        : "none"}
                    </td>
                    <td>
                      {chain.anchored ? (
                        `cosigned by ${chain.checkpoint?.witness ?? integrity.value.witness ?? "the witness"}`
                      ) : (
                        <span class="badge bad">not anchored</span>
                      )}
                    </td>
                    <td>{chain.unanchoredRecords ?? "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {!integrity.value.anchored && (
            <p class="alarm-text">
              Not anchored: no witness cosigned these chains, so anyone who can write the log
              directory can rewrite it and its checkpoints. Configure one with{" "}
              <code>agentgate witness</code> and <code>audit.witness</code> in config.json.
            </p>
          )}
        </>
      )}
    </section>
  );
}
