import { describe, expect, it } from "vitest";
import { isAgentGateError } from "../errors.js";
import {
  checkToolNames,
  isServerId,
  isToolName,
  MAX_SERVER_ID_LENGTH,
  MAX_TOOL_NAME_LENGTH,
  parseServerId,
  parseToolName,
  serverIdProblem,
  toolNameProblem,
} from "./tool-name.js";

/** Every disguise of `drop_db` that SECURITY.md L88 lists, and a few more. */
const DISGUISED_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["zero-width space", "drop_db\u200b"],
  ["zero-width joiner inside", "drop\u200d_db"],
  ["byte order mark", "\ufeffdrop_db"],
  ["Cyrillic о", "drop_db".replace("o", "\u043e")],
  ["full-width letters", "\uff44\uff52\uff4f\uff50_db"],
  ["right-to-left override", "\u202edrop_db"],
  ["right-to-left mark", "drop_db\u200f"],
  ["NUL", "drop_db\u0000"],
  ["trailing space", "drop_db "],
  ["leading tab", "\tdrop_db"],
  ["upper case", "DROP_DB"],
  ["one upper-case letter", "drop_Db"],
  ["combining accent (not NFC)", "drop_db\u0301"],
  ["precomposed accent", "dr\u00f3p_db"],
  ["empty", ""],
  ["over-long", "d".repeat(10_000)],
  ["slash", "crm/drop_db"],
  ["percent-encoding", "drop%5Fdb"],
  ["leading dot", ".drop_db"],
  ["leading dash", "-drop_db"],
];

describe("tool names (G55, L88)", () => {
  it("L88: canonical names are accepted unchanged", () => {
    for (const name of [
      "drop_db",
      "crm_lookup",
      "a",
      "_private",
      "tool-2",
      "v1.search",
      "9lives",
    ]) {
      expect(toolNameProblem(name)).toBeUndefined();
      expect(isToolName(name)).toBe(true);
      expect(parseToolName(name, "received")).toBe(name);
    }
    expect(isToolName("x".repeat(MAX_TOOL_NAME_LENGTH))).toBe(true);
  });

  it("L88: every disguise of drop_db is refused, as invalid_arguments where it arrives and invalid_configuration where it is declared", () => {
    for (const [label, name] of DISGUISED_NAMES) {
      expect(isToolName(name), label).toBe(false);
      expect(() => parseToolName(name, "received"), label).toThrowError(
        expect.objectContaining({ code: "invalid_arguments" }),
      );
      expect(() => parseToolName(name, "declared"), label).toThrowError(
        expect.objectContaining({ code: "invalid_configuration" }),
      );
    }
  });

  it("L88: each refusal says why without quoting the name", () => {
    expect(toolNameProblem("")).toBe("empty");
    expect(toolNameProblem(42)).toBe("not a string");
    expect(toolNameProblem(undefined)).toBe("not a string");
    expect(toolNameProblem("x".repeat(MAX_TOOL_NAME_LENGTH + 1))).toBe(
      "longer than 128 characters",
    );
    expect(toolNameProblem("-x")).toBe("it must start with a letter, digit or '_'");
    expect(toolNameProblem("DROP")).toBe(
      "only lowercase ASCII letters, digits, '_', '-' and '.' are allowed",
    );
    expect(toolNameProblem("drop_db\u200b")).toBe(
      "only lowercase ASCII letters, digits, '_', '-' and '.' are allowed",
    );
    try {
      parseToolName("drop_db\u200b", "received");
      expect.unreachable();
    } catch (error) {
      expect(isAgentGateError(error)).toBe(true);
      expect((error as Error).message).not.toContain("\u200b");
      expect((error as Error).message).toBe(
        "Invalid tool name: only lowercase ASCII letters, digits, '_', '-' and '.' are allowed.",
      );
    }
  });
});

describe("server ids (G55, L88)", () => {
  it("L88: canonical server ids are accepted; disguised, empty, over-long or slashed ones are refused", () => {
    for (const id of ["crm", "crm.acme.example", "github-mcp", "s_1", "a"])
      expect(isServerId(id), id).toBe(true);
    expect(isServerId("x".repeat(MAX_SERVER_ID_LENGTH))).toBe(true);
    for (const id of [
      "",
      "CRM",
      "crm\u200b",
      "cr\u043c",
      "crm ",
      "crm/other",
      "-crm",
      "crm.",
      "_crm",
      "x".repeat(MAX_SERVER_ID_LENGTH + 1),
      "\u0000",
    ]) {
      expect(isServerId(id), JSON.stringify(id)).toBe(false);
    }
    expect(serverIdProblem("crm.")).toBe("it must start and end with a letter or digit");
    expect(serverIdProblem("x".repeat(129))).toBe("longer than 128 characters");
    expect(parseServerId("crm", "declared")).toBe("crm");
    expect(() => parseServerId("CRM", "declared")).toThrowError(
      expect.objectContaining({
        code: "invalid_configuration",
        message: expect.stringMatching(/^Invalid server id/),
      }),
    );
  });

  it("L88: checkToolNames checks the name and the server when there is one", () => {
    expect(() => checkToolNames({ name: "lookup" }, "declared")).not.toThrow();
    expect(() => checkToolNames({ name: "lookup", server: "crm" }, "declared")).not.toThrow();
    expect(() => checkToolNames({ name: "lookup", server: "CRM" }, "received")).toThrowError(
      expect.objectContaining({ code: "invalid_arguments" }),
    );
    expect(() => checkToolNames({ name: "Lookup", server: "crm" }, "received")).toThrowError(
      expect.objectContaining({ code: "invalid_arguments" }),
    );
  });
});
