// `pnpm bench` for @agentgate/core: what redaction costs on every call, before and after the
// free-text secret patterns (SECURITY.md K86), on a typical argument and on one with prose.
import { createRedactor } from "../dist/index.js";
import { compare, machine, table } from "./harness.mjs";

const before = createRedactor({ freeText: false });
const after = createRedactor();
// What a CRM tool call usually carries: identifiers, a few fields, a short note.
const typical = {
  customerId: "acme",
  fields: ["name", "email", "open_tickets"],
  note: "Customer asked about the invoice from last week",
  limit: 20,
};
// A free-text argument of a few hundred characters, with one secret in it.
const prose = {
  customerId: "acme",
  transcript:
    "Caller said the portal rejected their login twice this morning. They read out ssn 123-45-6789 " +
    "to verify, then pasted a link https://portal.acme.example/reset?user=carol&password=hunter2 " +
    "and asked us to check why the reset mail never arrived. Escalate to tier 2 if not solved today.",
};

const results = await compare(
  [
    { name: "typical argument, before (JWT + card passes)", run: () => before(typical), batch: 50 },
    { name: "typical argument, after (+ free-text secrets)", run: () => after(typical), batch: 50 },
    { name: "prose argument, before", run: () => before(prose), batch: 20 },
    { name: "prose argument, after", run: () => after(prose), batch: 20 },
  ],
  { rounds: 3000, warmup: 500 },
);

console.log(`\n## Redaction\n\n${await machine()}\n`);
console.log(table(results, "typical argument, before (JWT + card passes)"));
console.log(
  `\nfree-text patterns: typical ${(results[1].p50 / results[0].p50).toFixed(2)}× p50, ${(results[1].p99 / results[0].p99).toFixed(2)}× p99; prose ${(results[3].p50 / results[2].p50).toFixed(2)}× p50, ${(results[3].p99 / results[2].p99).toFixed(2)}× p99`,
);
