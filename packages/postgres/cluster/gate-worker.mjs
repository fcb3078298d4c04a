// One gate process of the cluster test: createGate on the shared database (config.json's
// `database`), then tool calls in a loop until told to stop (a line on stdin) or 150 s passed.
// Prints one JSON line per call: { t, allowed, code, invocationId }; `approval` asks for an
// approval first and leaves it pending.
import { createInterface } from "node:readline";
import { createGate } from "@agentgate/core/node";

const [directory, agent, audience] = process.argv.slice(2);
const gate = await createGate({ directory, watchPolicies: false });
const tool = {
  name: "crm_lookup",
  action: "read",
  schema: { "~standard": { version: 1, vendor: "cluster", validate: (value) => ({ value }) } },
};
const issued = await gate.authority.issueToken(agent, { audience });
let stop = false;
createInterface({ input: process.stdin }).on("line", () => {
  stop = true;
});
const started = Date.now();
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
while (!stop && Date.now() - started < 150_000) {
  let line;
  try {
    const result = await gate.check({ tool, arguments: {}, credential: issued.token });
    line = {
      t: Date.now(),
      allowed: result.allowed,
      code: result.code,
      invocationId: result.invocationId,
    };
  } catch (error) {
    line = { t: Date.now(), allowed: false, code: error?.code ?? "thrown" };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
  await new Promise((resolve) => setTimeout(resolve, 2));
}
await gate.close();
process.exit(0);
