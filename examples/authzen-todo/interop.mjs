// Sends the OpenID AuthZEN interop decision files to `agentgate serve --dir .agentgate` and
// counts the answers that match. The files are another project's: fetch them, never copy them
// here. Usage:
//
//   node interop.mjs <path>...
//
// where each path is a decision file or a directory searched for them (a checkout of
// openid/authzen: interop/authzen-todo-backend/test/ and
// interop/authzen-api-gateways/test-harness/test/decisions.json). The last line printed is
// `authzen interop: N/M`; the exit code is 0 only when N = M.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { post, serveExample } from "./serve.mjs";

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error("usage: node interop.mjs <decision file or directory>...");
  process.exit(2);
}

function decisionFiles(path) {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.name !== "node_modules" && entry.name !== ".git")
    .flatMap((entry) =>
      entry.isDirectory()
        ? decisionFiles(join(path, entry.name))
        : /^decisions.*\.json$/.test(entry.name)
          ? [join(path, entry.name)]
          : [],
    );
}

const files = [...new Set(paths.flatMap(decisionFiles))].sort();
if (files.length === 0) {
  console.error(`no decisions*.json under ${paths.join(", ")}`);
  process.exit(2);
}

const server = await serveExample();
let passed = 0;
let total = 0;
try {
  for (const file of files) {
    const cases = JSON.parse(readFileSync(file, "utf8"));
    let filePassed = 0;
    let fileTotal = 0;
    // `decisions` is the older name of `evaluation` (the first interop rounds).
    for (const { request, expected } of [...(cases.evaluation ?? []), ...(cases.decisions ?? [])]) {
      const answer = await post(`${server.url}/access/v1/evaluation`, request);
      const ok = answer.status === 200 && answer.body.decision === expected;
      if (!ok)
        console.log(
          `FAIL ${file}: ${JSON.stringify(request)} expected ${expected}, got ${answer.status} ${JSON.stringify(answer.body)}`,
        );
      filePassed += ok ? 1 : 0;
      fileTotal++;
    }
    for (const { request, expected } of cases.evaluations ?? []) {
      const answer = await post(`${server.url}/access/v1/evaluations`, request);
      // Items carry reasons in their context (§7.2); the decisions are what must match.
      const got = (answer.body.evaluations ?? []).map((item) => item.decision);
      const ok =
        answer.status === 200 &&
        JSON.stringify(got) === JSON.stringify(expected.map((item) => item.decision));
      if (!ok)
        console.log(
          `FAIL ${file}: ${JSON.stringify(request)} expected ${JSON.stringify(expected)}, got ${answer.status} ${JSON.stringify(answer.body)}`,
        );
      filePassed += ok ? 1 : 0;
      fileTotal++;
    }
    console.log(`${file}: ${filePassed}/${fileTotal}`);
    passed += filePassed;
    total += fileTotal;
  }
} finally {
  await server.stop();
}
console.log(`authzen interop: ${passed}/${total}`);
process.exit(passed === total ? 0 : 1);
