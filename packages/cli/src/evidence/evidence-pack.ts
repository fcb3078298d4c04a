import type { AgentRecord, AuditRecord } from "@agentgate/core";
import type { AuditChainVerification } from "@agentgate/core/node";
import { type EvidenceSection, FRAMEWORKS, type Framework } from "./controls.js";
import type { VerifiedLog } from "./verified-log.js";

/** What an evidence pack is made of. */
export interface EvidencePackInput {
  readonly framework: Framework;
  /** The log directory, as named. */
  readonly log: string;
  readonly verified: VerifiedLog;
  /** The registry's agents (empty when the log came without its directory). */
  readonly agents: readonly AgentRecord[];
  /** Whether an agent is on the revocation list now. */
  readonly revoked?: (agent: string) => boolean;
  /** The checkpoint note each chain was verified against, by writer (`primary` first). */
  readonly checkpoints: Readonly<Record<string, string | undefined>>;
  /** ISO 8601 period (inclusive start, exclusive end); absent: the whole log. */
  readonly from?: string;
  readonly to?: string;
  /** When it was made (ISO 8601). */
  readonly generatedAt: string;
}

/** `text` safe in HTML text and attribute values: every log field is attacker-influenced. */
export function escapeHtml(value: unknown): string {
  const text =
    value === undefined || value === null
      ? ""
      : typeof value === "string"
        ? value
        : typeof value === "object"
          ? JSON.stringify(value)
          : String(value);
  return text.replace(/[&<>"'`]/g, (character) => `&#${character.charCodeAt(0)};`);
}

const cell = (value: unknown) => `<td>${escapeHtml(value)}</td>`;

function tableOf(
  columns: readonly string[],
  rows: ReadonlyArray<readonly unknown[]>,
  empty: string,
): string {
  if (rows.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  return `<table><thead><tr>${columns.map((column) => `<th scope="col">${escapeHtml(column)}</th>`).join("")}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map(cell).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

const SECTION_TITLES: Record<EvidenceSection, string> = {
  inventory: "Agent inventory and owners",
  "access-changes": "Access changes",
  denials: "Denied calls",
  approvals: "Approvals",
  revocations: "Revocations",
  integrity: "Integrity attestation",
};

/**
 * The HTML evidence pack: one self-contained page (no script, no network: its Content Security
 * Policy allows inline styles only) with the inventory, access changes, denials, approvals,
 * revocations and the integrity attestation of a verified log, each section mapped to the
 * framework's controls. Every value from the log or the registry is escaped (SECURITY.md N112).
 */
export function evidencePackHtml(input: EvidencePackInput): string {
  const framework = FRAMEWORKS[input.framework];
  const { records } = input.verified;
  const section = (id: EvidenceSection, body: string) => {
    const controls = framework.sections[id];
    return `<section id="${id}"><h2>${escapeHtml(SECTION_TITLES[id])}</h2><p class="controls">Evidence for: ${controls
      .map(
        (control) =>
          `<span class="control"><b>${escapeHtml(control.id)}</b> ${escapeHtml(control.title)}</span>`,
      )
      .join("; ")}</p>${body}</section>`;
  };
  const period = `${input.from ?? "the log's first record"} to ${input.to ?? input.generatedAt}`;

  // Inventory: every registered agent, and every agent seen in the log but not registered.
  const stats = new Map<
    string,
    { calls: number; denials: number; last?: string; owner?: string; tools: Set<string> }
  >();
  for (const record of records) {
    if (record.type !== "decision" || record.agent === undefined) continue;
    const entry = stats.get(record.agent) ?? { calls: 0, denials: 0, tools: new Set<string>() };
    entry.calls++;
    if (record.decision?.allowed === false) entry.denials++;
    if (record.tool !== undefined)
      entry.tools.add(
        record.tool.server === undefined
          ? record.tool.name
          : `${record.tool.server}/${record.tool.name}`,
      );
    entry.last = record.time;
    if (record.owner !== undefined) entry.owner = record.owner;
    stats.set(record.agent, entry);
  }
  const revoked = input.revoked ?? (() => false);
  const inventory = [
    ...input.agents.map((agent) => {
      const entry = stats.get(agent.id);
      return [
        agent.id,
        agent.owner || "(no owner)",
        agent.team ?? "",
        agent.supervision,
        revoked(agent.id) ? "revoked" : "active",
        agent.maxScopes.join(" "),
        agent.createdAt,
        agent.expiresAt ?? "",
        entry?.calls ?? 0,
        entry?.denials ?? 0,
        [...(entry?.tools ?? [])].sort().join(" "),
        entry?.last ?? "",
      ];
    }),
    ...[...stats]
      .filter(([agent]) => !input.agents.some((registered) => registered.id === agent))
      .map(([agent, entry]) => [
        agent,
        entry.owner ?? "(no owner)",
        "",
        "not in the registry",
        revoked(agent) ? "revoked" : "",
        "",
        "",
        "",
        entry.calls,
        entry.denials,
        [...entry.tools].sort().join(" "),
        entry.last ?? "",
      ]),
  ];
  const of = (type: AuditRecord["type"]) => records.filter((record) => record.type === type);
  const actor = (record: AuditRecord) =>
    record.actor === undefined ? "" : `${record.actor.type}:${record.actor.id}`;
  const changes = records.filter((record) =>
    ["agent_change", "policy_loaded", "key_rotation", "config_change", "token_exchange"].includes(
      record.type,
    ),
  );
  const denials = of("decision").filter((record) => record.decision?.allowed === false);

  const integrity = input.verified.chains.map((chain: AuditChainVerification) => {
    const checkpoint = chain.checkpoint;
    const note = input.checkpoints[chain.writer];
    const range =
      chain.records === 0
        ? "no records"
        : `records 0 to ${chain.records - 1} (${chain.records} records) verify: every hash, the chain of links, and the Merkle root`;
    return `<div class="chain"><h3>Chain ${escapeHtml(chain.writer)}</h3><p>${escapeHtml(range)}${
      checkpoint === undefined
        ? ""
        : escapeHtml(
            `; the checkpoint covers records 0 to ${checkpoint.size - 1}, signed by the ${checkpoint.signedBy}${checkpoint.time ? `, cosigned at ${checkpoint.time}` : ""}.`,
          )
    }</p>${
      chain.anchored
        ? `<p class="anchored">Anchored: a witness cosigned this checkpoint; ${escapeHtml(chain.unanchoredRecords ?? 0)} newer record(s) are not covered and are not used in this pack.</p>`
        : `<p class="alarm">NOT ANCHORED: no witness cosigned this log. Its signed checkpoint shows the records were not changed by anyone without the writer's checkpoint key, but anyone who can write the log directory and read that key could rewrite both. ${escapeHtml(chain.unanchoredRecords ?? 0)} record(s) newer than the checkpoint are not used in this pack.</p>`
    }${note === undefined ? "" : `<p>Checkpoint (C2SP signed note) the log was verified against:</p><pre class="checkpoint">${escapeHtml(note)}</pre>`}</div>`;
  });

  const body = [
    section(
      "inventory",
      tableOf(
        [
          "agent",
          "owner",
          "team",
          "supervision",
          "status",
          "scopes",
          "created",
          "expires",
          "calls",
          "denials",
          "tools",
          "last call",
        ],
        inventory,
        "No agents registered or seen in the period.",
      ),
    ),
    section(
      "access-changes",
      tableOf(
        ["time", "event", "agent", "by", "what"],
        changes.map((record) => [
          record.time,
          record.type,
          record.agent ?? "",
          actor(record),
          record.details ?? record.decision?.reason ?? "",
        ]),
        "No access changes in the period.",
      ),
    ),
    section(
      "denials",
      tableOf(
        [
          "time",
          "agent",
          "on behalf of",
          "tool",
          "action",
          "code",
          "policies",
          "reason",
          "arguments",
        ],
        denials.map((record) => [
          record.time,
          record.agent ?? "(unauthenticated)",
          record.principal ?? "",
          record.tool?.name ?? "",
          record.action ?? "",
          record.decision?.code ?? "",
          (record.decision?.policies ?? []).join(" "),
          record.decision?.reason ?? "",
          record.arguments ?? "",
        ]),
        "No denied calls in the period.",
      ),
    ),
    section(
      "approvals",
      tableOf(
        ["time", "agent", "tool", "action", "approved", "approver", "reason", "arguments"],
        of("approval").map((record) => [
          record.time,
          record.agent ?? "",
          record.tool?.name ?? "",
          record.action ?? "",
          record.approval?.approved ? "approved" : "refused",
          record.approval?.approver ?? "",
          record.approval?.reason ?? "",
          record.arguments ?? "",
        ]),
        "No approvals in the period.",
      ),
    ),
    section(
      "revocations",
      tableOf(
        ["time", "agent", "by", "what"],
        of("revocation").map((record) => [
          record.time,
          record.agent ?? "",
          actor(record),
          record.details ?? "",
        ]),
        "No revocations in the period.",
      ),
    ),
    section(
      "integrity",
      `${integrity.join("")}<p>${escapeHtml(`${records.length} verified record(s) in the period are the source of this pack.`)}${input.verified.uncovered > 0 ? escapeHtml(` ${input.verified.uncovered} record(s) in the period newer than their chain's checkpoint were left out.`) : ""}</p>`,
    ),
  ];
  const mapping = (Object.keys(SECTION_TITLES) as EvidenceSection[]).map((id) => [
    SECTION_TITLES[id],
    framework.sections[id].map((control) => control.id).join(", "),
  ]);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(`AgentGate evidence pack: ${framework.name}`)}</title>
<style>
body{font:10pt/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#111;margin:2em}
h1{font-size:16pt;margin:0 0 .3em}h2{font-size:13pt;border-bottom:1px solid #999;margin-top:1.6em}h3{font-size:11pt}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{border:1px solid #bbb;padding:2px 4px;text-align:left;vertical-align:top;word-break:break-word}
th{background:#eee}.controls{color:#333}.control{white-space:nowrap}.empty{color:#555;font-style:italic}
.alarm{color:#a00;font-weight:bold;border:2px solid #a00;padding:.4em}.anchored{color:#060;font-weight:bold}
pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5em;font-size:8pt}
@media print{section{break-inside:auto}h2{break-after:avoid}}
</style></head>
<body>
<header><h1>${escapeHtml(`AgentGate evidence pack: ${framework.name}`)}</h1>
<p>${escapeHtml(`Period: ${period}. Audit log: ${input.log}. Generated ${input.generatedAt} by agentgate audit evidence.`)}</p>
<p>Every figure below comes from records of a verified audit log that a signed checkpoint covers; a log that does not verify produces no pack.</p>
<h2>Controls</h2>${tableOf(["section", "controls"], mapping, "")}
</header>
<main>${body.join("\n")}</main>
</body></html>
`;
}
