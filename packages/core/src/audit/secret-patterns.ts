/**
 * Secrets in free text (SECURITY.md K86): the credential formats a secret scanner looks for
 * (the families of secretlint's recommended rules: cloud keys, VCS and SaaS tokens, Basic and
 * Bearer values, private key blocks, credentials in URLs and connection strings) plus US SSNs and
 * `password=…`-style assignments inside a string.
 *
 * Why not secretlint itself: its engine lints whole files asynchronously and its rules keep their
 * patterns private, while redaction runs synchronously on every call. The formats below follow
 * the providers' documented token shapes; each pattern starts with a literal prefix and uses only
 * bounded character-class runs, so matching stays linear in the input (I68).
 */

const MASK = "[REDACTED]";

/**
 * Provider tokens with a fixed prefix: AWS access key ids, Google API keys, GitHub, GitLab, Slack,
 * Stripe, npm, SendGrid, OpenAI/Anthropic-style `sk-` keys.
 */
const PREFIXED =
  /\b(?:(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}|AIza[\w-]{35}|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_\w{22,255}|glpat-[\w-]{20,64}|xox[abposr]-[A-Za-z0-9-]{10,250}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,250}|npm_[A-Za-z0-9]{36}|SG\.[\w-]{22}\.[\w-]{43}|sk-[A-Za-z0-9_-]{20,250})/g;

/** `password=…`, `"api_key": "…"`, `token: …`, `Password=…;` (connection strings). */
const ASSIGNED =
  /(pass(?:word|wd|phrase)?|pwd|secret|token|api[-_]?key|access[-_]?key|client[-_]?secret|private[-_]?key|credentials?|(?<![a-z])auth|ssn)(["']?[ \t]{0,8}[:=][ \t]{0,8}["']?)([^\s"'`,;&<>{}()[\]]{1,512})/gi;

/** `Bearer <token>`, `Basic <base64>`, `Token <token>` (HTTP authorization values). */
const SCHEMED = /\b(Bearer|Basic|Token)([ \t]{1,8})([A-Za-z0-9._~+/-]{8,4096}={0,2})/gi;

const SCHEME_WORD = /bearer|basic|token/i;

/** `scheme://user:password@host` (URLs, database connection strings). */
const USERINFO = /\b([a-z][a-z0-9+.-]{1,20}:\/\/)[^\s/@:]{0,256}:[^\s/@]{0,512}@/gi;

/** A US social security number written `123-45-6789`. */
const SSN = /\b(\d{3})-(\d{2})-(\d{4})\b/g;

/** Whether `text` could hold anything this module masks: most arguments cannot, cheaply. */
function mayHoldSecret(text: string): boolean {
  return text.length >= 8;
}

/**
 * `text` with every free-text secret replaced by `[REDACTED]` (for assignments and schemes, the
 * key or scheme stays: `password=[REDACTED]`, `Bearer [REDACTED]`).
 *
 * @example
 * ```ts
 * scrubSecrets("login with password=hunter2, ssn 123-45-6789");
 * // → "login with password=[REDACTED], ssn [REDACTED]"
 * ```
 */
export function scrubSecrets(text: string): string {
  if (!mayHoldSecret(text)) return text;
  let out = text.includes("-----BEGIN") ? maskPrivateKeys(text) : text;
  out = out.replace(PREFIXED, MASK);
  if (out.includes("://")) out = out.replace(USERINFO, `$1${MASK}@`);
  if (out.includes("=") || out.includes(":"))
    out = out.replace(ASSIGNED, (match, key: string, glue: string, value: string) =>
      value === MASK ? match : `${key}${glue}${MASK}`,
    );
  if (SCHEME_WORD.test(out))
    out = out.replace(SCHEMED, (match, scheme: string, space: string, value: string) =>
      value !== MASK && isCredentialValue(scheme, value) ? `${scheme}${space}${MASK}` : match,
    );
  if (out.includes("-"))
    out = out.replace(SSN, (match, area: string, group: string, serial: string) =>
      isSsn(area, group, serial) ? MASK : match,
    );
  return out;
}

/**
 * A value after `Basic` must decode to `user:password`; after `Bearer` or `Token` it must look
 * like a token (a digit or symbol, or long), so that "Basic information" stays as written.
 */
function isCredentialValue(scheme: string, value: string): boolean {
  if (scheme.toLowerCase() === "basic") {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return false;
    try {
      return atob(value).includes(":");
    } catch {
      return false;
    }
  }
  return value.length >= 20 || /[\d._~+/-]/.test(value);
}

/** Area 001–899 except 666, group 01–99, serial 0001–9999 (the SSA's valid ranges). */
function isSsn(area: string, group: string, serial: string): boolean {
  const first = Number(area);
  return first > 0 && first !== 666 && first < 900 && group !== "00" && serial !== "0000";
}

/** Masks every `-----BEGIN … PRIVATE KEY-----` block through its END line, or to the end. */
function maskPrivateKeys(text: string): string {
  let out = "";
  let from = 0;
  for (;;) {
    const start = text.indexOf("-----BEGIN", from);
    if (start < 0) break;
    const headerEnd = text.indexOf("-----", start + 10);
    if (headerEnd < 0) break;
    if (!text.slice(start, headerEnd).includes("PRIVATE KEY")) {
      out += text.slice(from, headerEnd + 5);
      from = headerEnd + 5;
      continue;
    }
    const end = text.indexOf("-----END", headerEnd + 5);
    const close = end < 0 ? -1 : text.indexOf("-----", end + 8);
    out += `${text.slice(from, start)}${MASK}`;
    from = close < 0 ? text.length : close + 5;
  }
  return out + text.slice(from);
}
