import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from "@opentelemetry/sdk-logs";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/fixtures/temp-dir.js";
import { isAgentGateError } from "../errors.js";
import { FileAuditLog, readAuditLog, SpoolingAuditSink } from "../node/index.js";
import { OpenTelemetryAuditSink } from "../otel/index.js";
import { describeAuditSinkContract, sampleAuditEvent } from "../testing/contracts/index.js";
import type { AuditEvent } from "./audit-event.js";
import { type AuditSink, MemoryAuditSink } from "./audit-sink.js";
import { ConsoleAuditSink } from "./console-audit-sink.js";
import { TeeAuditSink } from "./tee-audit-sink.js";

const temp = () => join(tempDir("agentgate-sinks-"), "audit");

async function readLog(directory: string): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for await (const record of readAuditLog(directory)) events.push(record);
  return events;
}

describeAuditSinkContract("MemoryAuditSink", async () => {
  const sink = new MemoryAuditSink();
  return { sink, read: async () => sink.events };
});
for (const durability of ["process", "fsync", "group"] as const) {
  describeAuditSinkContract(`FileAuditLog (${durability})`, async () => {
    const directory = temp();
    return {
      sink: await FileAuditLog.open({ directory, durability }),
      read: () => readLog(directory),
    };
  });
}
describeAuditSinkContract("TeeAuditSink", async () => {
  const memory = new MemoryAuditSink();
  return {
    sink: new TeeAuditSink([memory, new MemoryAuditSink()]),
    read: async () => memory.events,
  };
});
describeAuditSinkContract("ConsoleAuditSink", async () => ({
  sink: new ConsoleAuditSink({ write: () => {} }),
}));
describeAuditSinkContract("SpoolingAuditSink", async () => {
  const memory = new MemoryAuditSink();
  return {
    sink: new SpoolingAuditSink(memory, `${temp()}.spool`),
    read: async () => memory.events,
  };
});
describeAuditSinkContract("OpenTelemetryAuditSink", async () => {
  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] });
  return {
    sink: new OpenTelemetryAuditSink({
      logger: provider.getLogger("agentgate"),
      forceFlush: () => provider.forceFlush(),
    }),
  };
});

const failing: AuditSink = {
  write: async () => {
    throw new Error("collector down");
  },
  flush: async () => {},
  close: async () => {},
};

describe("sink failure policy (E43)", () => {
  it("E43: by default a failing sink rejects with audit_unavailable; a tee fails if any member fails", async () => {
    const memory = new MemoryAuditSink();
    const error = await new TeeAuditSink([memory, failing])
      .write(sampleAuditEvent(0))
      .catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("audit_unavailable");
  });

  it("E43: the explicit spool mode keeps every event durably while the destination is down, in order, and replays it", async () => {
    let down = true;
    const memory = new MemoryAuditSink();
    const flaky: AuditSink = {
      write: async (event) => {
        if (down) throw new Error("collector down");
        await memory.write(event);
      },
      flush: async () => {},
      close: async () => {},
    };
    const spoolPath = `${temp()}.spool`;
    const sink = new SpoolingAuditSink(flaky, spoolPath);
    for (let index = 0; index < 5; index++) await sink.write(sampleAuditEvent(index));
    expect(sink.spooled).toBe(5);
    expect(readFileSync(spoolPath, "utf8").trim().split("\n")).toHaveLength(5);
    down = false;
    await sink.write(sampleAuditEvent(5)); // queued behind the spool, not ahead of it
    expect(await sink.replay()).toBe(6);
    expect(memory.events.map((event) => event.id)).toEqual(
      [0, 1, 2, 3, 4, 5].map((index) => `contract-${index}`),
    );
    expect(sink.spooled).toBe(0);
  });

  it("E43: when even the spool cannot be written, write rejects: never a silent drop", async () => {
    const sink = new SpoolingAuditSink(failing, "/proc/agentgate-cannot-write-here.spool");
    const error = await sink.write(sampleAuditEvent(0)).catch((caught: unknown) => caught);
    expect(isAgentGateError(error) && error.code).toBe("audit_unavailable");
  });
});

describe("ConsoleAuditSink", () => {
  it("E45: control characters, newlines and ANSI escapes cannot forge or recolour a line", async () => {
    const lines: string[] = [];
    const sink = new ConsoleAuditSink({ write: (line) => lines.push(line), color: false });
    await sink.write({
      ...sampleAuditEvent(0),
      agent: "spiffe://acme.example/agent/x\n2026-01-01 decision allowed",
      tool: { name: "\u001b[32mok\u001b[0m\r" },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\p{Cc}]/u);
  });
});

describe("OpenTelemetryAuditSink", () => {
  it("emits one log record per event with semantic-convention attributes", async () => {
    const exporter = new InMemoryLogRecordExporter();
    const provider = new LoggerProvider({
      processors: [new SimpleLogRecordProcessor({ exporter })],
    });
    const sink = new OpenTelemetryAuditSink({
      logger: provider.getLogger("agentgate"),
      forceFlush: () => provider.forceFlush(),
    });
    await sink.write({
      ...sampleAuditEvent(0),
      details: { toolCallId: "call-1" },
      decision: { allowed: false, policies: ["p9"], reason: "no", code: "access_denied" },
    });
    await sink.flush();
    const [record] = exporter.getFinishedLogRecords();
    expect(record?.attributes).toMatchObject({
      "gen_ai.tool.name": "crm_lookup",
      "gen_ai.tool.call.id": "call-1",
      "gen_ai.agent.id": "spiffe://acme.example/agent/support",
      "enduser.id": "user:carol@acme.example",
      "error.type": "access_denied",
      "agentgate.decision.allowed": false,
    });
    expect(record?.severityText).toBe("WARN");
  });
});
