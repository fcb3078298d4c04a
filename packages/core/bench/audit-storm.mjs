// The K82 storm, at bench scale: per trial, a writer that checkpoints after every record is
// killed with SIGKILL mid-write, then 20 processes open the same directory at once. Counts forks
// (a log that does not verify: a sequence number appearing twice) and temporary files left.
// `node bench/audit-storm.mjs [trials=100] [contenders=20]`
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { defaultCheckpointPath, FileAuditLog, verifyAuditLog } from "../dist/node/index.js";

const WRITER = fileURLToPath(new URL("../test/fixtures/audit-writer.mjs", import.meta.url));
const CONTENDER = fileURLToPath(new URL("../test/fixtures/audit-storm.mjs", import.meta.url));
const trials = Number(process.argv[2] ?? 100);
const contenders = Number(process.argv[3] ?? 20);
const exited = (child) => new Promise((resolve) => child.once("exit", (code) => resolve(code)));

let forks = 0;
let leftovers = 0;
let winners = 0;
const started = Date.now();
for (let trial = 0; trial < trials; trial++) {
  const root = mkdtempSync(join(tmpdir(), "agentgate-storm-bench-"));
  const keyPath = join(root, "home", "key.json");
  const directory = join(root, ".agentgate", "audit");
  const crashed = spawn(
    process.execPath,
    [WRITER, directory, "process", "1000000", "0", keyPath, "1"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  await new Promise((resolve) => crashed.stdout.once("data", resolve));
  await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
  crashed.kill("SIGKILL");
  await exited(crashed);
  const codes = await Promise.all(
    Array.from({ length: contenders }, () =>
      exited(spawn(process.execPath, [CONTENDER, directory, keyPath, "20"], { stdio: "ignore" })),
    ),
  );
  winners += codes.filter((code) => code === 0).length;
  const checkpointPath = defaultCheckpointPath(directory, keyPath);
  const result = await verifyAuditLog(directory, { checkpointPath, checkpointKey: keyPath });
  if (!result.ok) {
    forks++;
    console.error(`trial ${trial}: ${result.reason}`);
  }
  await (await FileAuditLog.open({ directory, checkpointKeyPath: keyPath })).close();
  for (const folder of [directory, dirname(checkpointPath)])
    leftovers += readdirSync(folder).filter((name) => name.endsWith(".tmp")).length;
  rmSync(root, { recursive: true, force: true });
  if ((trial + 1) % 10 === 0)
    console.error(
      `${trial + 1}/${trials} trials, ${forks} forks, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
}
console.log(`\n## Audit log: many writers after a crash (K82)\n`);
console.log(
  `${trials} trials × ${contenders} processes opening one directory after kill -9: ${forks} forks, ${leftovers} *.tmp files left, ${winners} openings won (one writer at a time).`,
);
