// One of the processes of the revocation propagation bench: watches isRevoked for the ids the
// bench announces on stdin and prints { id, t } (epoch ms) the moment each is seen.
import { createInterface } from "node:readline";
import { openPostgresStores } from "../dist/index.js";

const [url, schema] = process.argv.slice(2);
const stores = await openPostgresStores({ url, schema });
const watching = new Set();
process.stdout.write("ready\n");
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line === "stop") {
    void stores.close().then(() => process.exit(0));
    return;
  }
  watching.add(line);
});
const tick = () => {
  for (const id of watching) {
    if (stores.revocations.isRevoked("token", id)) {
      watching.delete(id);
      process.stdout.write(
        `${JSON.stringify({ id, t: performance.timeOrigin + performance.now() })}\n`,
      );
    }
  }
  setTimeout(tick, 1);
};
tick();
