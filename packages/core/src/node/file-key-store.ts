import { mkdirSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import * as z from "zod";
import { AgentGateError } from "../errors.js";
import type { KeyStore } from "../identity/key-store.js";
import type { StoredKey } from "../identity/signing-key.js";
import { writeFileAtomic } from "./atomic-file.js";

const jwkSchema = z.union([
  z.looseObject({ kty: z.enum(["OKP", "EC"]), crv: z.string(), x: z.string() }),
  z.looseObject({ kty: z.literal("RSA"), n: z.string(), e: z.string() }),
]);
const storedKeySchema = z.strictObject({
  kid: z.string().regex(/^[A-Za-z0-9_-]{43}$/),
  alg: z.enum(["EdDSA", "ES256", "RS256"]),
  privateJwk: z.intersection(jwkSchema, z.looseObject({ d: z.string() })),
  publicJwk: jwkSchema,
  createdAt: z.number().int().nonnegative(),
  retiresAt: z.number().int().nonnegative().optional(),
});

/** Options of {@link FileKeyStore}. */
export interface FileKeyStoreOptions {
  /**
   * Create the directory when it is missing (default `true`). With `false`, a missing directory
   * is an error at start-up (`key_store_invalid`), for servers that must never mint a new
   * trust root by accident.
   */
  readonly create?: boolean;
}

/**
 * A {@link KeyStore} on disk: one JSON file per key, `<kid>.json`, in a 0700 directory
 * (default `.agentgate/keys`). Files are written atomically with mode 0600; a key file readable
 * by group or others, a file that does not parse, or a `kid` that is not the file's name is
 * refused at load with `key_store_invalid` naming the file (SECURITY.md H57, H59).
 */
export class FileKeyStore implements KeyStore {
  constructor(
    readonly directory: string = join(".agentgate", "keys"),
    private readonly options: FileKeyStoreOptions = {},
  ) {}

  async load(): Promise<readonly StoredKey[]> {
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch (error) {
      if (isMissing(error) && this.options.create !== false) return [];
      throw new AgentGateError(
        "key_store_invalid",
        `Key store ${this.directory} cannot be read: ${describe(error)}.`,
      );
    }
    const keys: StoredKey[] = [];
    for (const name of names.filter((entry) => entry.endsWith(".json")).sort()) {
      keys.push(this.#read(name));
    }
    return keys.sort((a, b) => a.createdAt - b.createdAt);
  }

  async save(key: StoredKey): Promise<void> {
    storedKeySchema.parse(key);
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    writeFileAtomic(
      join(this.directory, `${key.kid}.json`),
      `${JSON.stringify(key, null, 2)}\n`,
      0o600,
    );
  }

  async remove(kid: string): Promise<void> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(kid)) return;
    try {
      unlinkSync(join(this.directory, `${kid}.json`));
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }

  toJSON(): { directory: string } {
    return { directory: this.directory };
  }

  #read(name: string): StoredKey {
    const path = join(this.directory, name);
    const fail = (reason: string) =>
      new AgentGateError("key_store_invalid", `Key file ${path} is not usable: ${reason}.`);
    try {
      if ((statSync(path).mode & 0o077) !== 0) {
        throw fail("its permissions are too open (want 0600)");
      }
      const parsed = storedKeySchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
      if (!parsed.success) throw fail(`${parsed.error.issues[0]?.path.join(".")} is malformed`);
      if (`${parsed.data.kid}.json` !== name) throw fail("its kid does not match its name");
      return parsed.data as StoredKey;
    } catch (error) {
      if (error instanceof AgentGateError) throw error;
      throw fail(error instanceof SyntaxError ? "not JSON" : describe(error));
    }
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : "unknown error");
}
