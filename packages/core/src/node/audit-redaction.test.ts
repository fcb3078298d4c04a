import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { crmUpdate, makeGate } from "../../test/fixtures/gate.js";
import { OPS } from "../../test/fixtures/identity.js";
import { FileAuditLog } from "./index.js";

describe("secrets never reach the log file", () => {
  it("E44 + K86: secrets planted in free-text arguments are not in the written log", async () => {
    const directory = join(mkdtempSync(join(tmpdir(), "agentgate-redaction-")), "audit");
    try {
      const audit = await FileAuditLog.open({ directory });
      const { gate, token } = await makeGate({ audit });
      const note =
        "caller ssn 123-45-6789, retry with password=hunter2 at https://bob:pw4242@crm.acme.example";
      await gate
        .invoke(
          {
            tool: crmUpdate,
            arguments: { customerId: "acme", note },
            credential: await token(OPS, ["crm:write"]),
          },
          () => "noted",
        )
        .catch(() => undefined); // ops is supervised: denied without an approver, and recorded

      await gate.close();
      const written = readdirSync(directory)
        .filter((name) => name.endsWith(".jsonl"))
        .map((name) => readFileSync(join(directory, name), "utf8"))
        .join("");
      expect(written).toContain('"customerId":"acme"');
      for (const secret of ["123-45-6789", "hunter2", "pw4242"])
        expect(written).not.toContain(secret);
    } finally {
      rmSync(dirname(directory), { recursive: true, force: true });
    }
  });
});
