// `pnpm test` of this starter: serves .agentgate with `agentgate serve` and checks the Todo rules
// with cases of its own (the interop's decision files are run by interop.mjs). Exits 1 on any
// mismatch.
import { post, serveExample } from "./serve.mjs";

const RICK = "rick@the-citadel.com"; // admin, evil genius
const MORTY = "morty@the-citadel.com"; // editor
const BETH = "beth@the-smiths.com"; // viewer
const user = (id) => ({ type: "user", id });
const todo = (owner) => ({ type: "todo", id: `todo-of-${owner}`, properties: { ownerID: owner } });

const single = [
  ["a viewer reads the list", user(BETH), "can_read_todos", { type: "todo", id: "any" }, true],
  ["a viewer cannot create", user(BETH), "can_create_todo", { type: "todo", id: "new" }, false],
  ["an editor creates", user(MORTY), "can_create_todo", { type: "todo", id: "new" }, true],
  ["an editor completes their own todo", user(MORTY), "can_update_todo", todo(MORTY), true],
  ["an editor cannot complete another's", user(MORTY), "can_update_todo", todo(BETH), false],
  ["an admin deletes another's", user(RICK), "can_delete_todo", todo(MORTY), true],
  [
    "an agent is not the user of the same id (L91)",
    { type: "agent", id: MORTY },
    "can_create_todo",
    { type: "todo", id: "new" },
    false,
  ],
  [
    "the gateway lets an editor PUT",
    { type: "identity", id: MORTY },
    "PUT",
    { type: "route", id: "/todos/{todoId}" },
    true,
  ],
  [
    "the gateway stops a viewer's DELETE",
    { type: "identity", id: BETH },
    "DELETE",
    { type: "route", id: "/todos/{todoId}" },
    false,
  ],
];

const server = await serveExample();
let failed = 0;
try {
  for (const [name, subject, action, resource, expected] of single) {
    const { body } = await post(`${server.url}/access/v1/evaluation`, {
      subject,
      action: { name: action },
      resource,
    });
    const ok = body.decision === expected;
    failed += ok ? 0 : 1;
    console.log(`${ok ? "ok  " : "FAIL"} ${name}: ${body.decision}`);
  }
  const { body } = await post(`${server.url}/access/v1/evaluations`, {
    subject: user(MORTY),
    action: { name: "can_delete_todo" },
    evaluations: [{ resource: todo(MORTY) }, { resource: todo(RICK) }, { resource: todo(MORTY) }],
    options: { evaluations_semantic: "deny_on_first_deny" },
  });
  const got = JSON.stringify(body.evaluations.map((item) => item.decision));
  const ok = got === "[true,false]";
  failed += ok ? 0 : 1;
  console.log(`${ok ? "ok  " : "FAIL"} a batch stops at its first deny: ${got}`);
} finally {
  await server.stop();
}
console.log(
  failed === 0 ? "authzen-todo: all checks passed" : `authzen-todo: ${failed} checks failed`,
);
process.exit(failed === 0 ? 0 : 1);
