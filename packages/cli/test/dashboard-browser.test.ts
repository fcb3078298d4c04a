// The dashboard end to end: `agentgate dashboard` spawned over a log a real gate wrote (the quick
// start's flows, test/gate-run.ts), driven by Playwright in Debian's Chromium. Every wait is for
// a selector, up to a generous deadline; nothing depends on how fast the machine is.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateRun, OPS, SUPPORT, tamper, XSS_ARGUMENT } from "./gate-run.js";
import { pollUntil } from "./poll.js";

const CHROMIUM = process.env.AGENTGATE_CHROMIUM ?? "/usr/bin/chromium";
/** `pnpm screenshots` sets this to docs/screenshots; otherwise they go to a temporary folder. */
const SCREENSHOTS = process.env.AGENTGATE_SCREENSHOTS;
const WAIT = { timeout: 30_000 };

/** Chromium, or why not: installed by `.ci/run` through apt when missing. */
function chromiumMissing(): string | undefined {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install -y chromium)`;
  try {
    execFileSync(CHROMIUM, ["--version"], { stdio: "ignore", timeout: 30_000 });
    return undefined;
  } catch (error) {
    return `${CHROMIUM} does not start: ${(error as Error).message}`;
  }
}
const missing = chromiumMissing();
if (missing !== undefined)
  console.warn(`dashboard browser tests SKIPPED: ${missing}. They need Debian's chromium package.`);

describe.skipIf(missing !== undefined)("agentgate dashboard in a real browser", () => {
  let dir: string;
  let child: ChildProcess;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    dir = await gateRun();
    const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
    const owners = join(dirname(dir), "owners.txt");
    (await import("node:fs")).writeFileSync(
      owners,
      "alice@acme.example\nbob@acme.example\nerin@acme.example\n",
    );
    child = spawn(
      process.execPath,
      [
        bin,
        "--dir",
        dir,
        "dashboard",
        "--port",
        "0",
        "--dormant-days",
        "10000",
        "--owners",
        owners,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, AGENTGATE_ADMIN_TOKEN: "" } },
    );
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const login = await pollUntil(
      () => /(http:\/\/127\.0\.0\.1:\d+)\/login\?code=[\w-]+/.exec(stdout),
      (match) => match !== null,
      { what: "the dashboard's login URL", deadlineMs: 60_000 },
    );
    base = login?.[1] ?? "";
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox"],
      timeout: 60_000,
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(30_000);
    // The one-time link opens a session and lands on the app, without the code in the URL.
    await page.goto(login?.[0] ?? "");
    await page.waitForSelector("[data-testid=inventory]", WAIT);
    expect(page.url()).toBe(`${base}/`);
  });

  afterAll(async () => {
    await browser?.close();
    child?.kill("SIGTERM");
    if (child !== undefined && child.exitCode === null)
      await new Promise((done) => child.once("exit", done));
    if (dir !== undefined) rmSync(dirname(dir), { recursive: true, force: true });
  });

  const shot = async (name: string) => {
    const folder =
      SCREENSHOTS === undefined ? join(dirname(dir), "screenshots") : resolve(SCREENSHOTS);
    mkdirSync(folder, { recursive: true });
    await page.screenshot({ path: join(folder, `${name}.png`), fullPage: true });
  };

  it("the inventory lists every agent with its owner and activity", async () => {
    const rows = page.locator("[data-testid=inventory] tbody tr");
    await page.waitForSelector(`[data-testid=inventory] tr[data-agent="${OPS}"]`, WAIT);
    expect(await rows.count()).toBe(5);
    const support = page.locator(`[data-testid=inventory] tr[data-agent="${SUPPORT}"]`);
    await support.filter({ hasText: "alice@acme.example" }).waitFor(WAIT);
    expect(await support.textContent()).toContain("customer-support");
    await page.waitForSelector("[data-testid=charts] .uplot", WAIT);
    await page.waitForSelector("[data-testid=not-anchored]", WAIT);
    await shot("inventory");
  });

  it("a filter narrows the timeline, from the keyboard", async () => {
    await page.goto(`${base}/#/activity`);
    const count = page.locator("[data-testid=activity-count]");
    await page.waitForSelector("[data-testid=timeline] tbody tr", WAIT);
    const all = Number((await count.textContent())?.split(" ")[0]);
    // Labelled controls: found by their label, chosen with the keyboard.
    await page.getByLabel("Agent", { exact: true }).focus();
    await page.getByLabel("Agent", { exact: true }).selectOption(SUPPORT);
    await page.waitForURL(/agent=/, WAIT);
    await page.getByLabel("Outcome", { exact: true }).selectOption("denied");
    await page.locator("[data-testid=activity-count]", { hasText: /^4 events/ }).waitFor(WAIT);
    expect(all).toBeGreaterThan(4);
    const outcomes = await page.locator("[data-testid=timeline] tbody tr .badge.denied").count();
    expect(outcomes).toBe(4);
    await shot("activity");
  });

  it("an event's delegation chain is drawn as a graph", async () => {
    await page.goto(
      `${base}/#/activity?principal=${encodeURIComponent(OPS)}&agent=${encodeURIComponent(SUPPORT)}`,
    );
    await page.locator("[data-testid=activity-count]", { hasText: /^1 event\b/ }).waitFor(WAIT);
    const decision = page
      .locator("[data-testid=timeline] tbody tr", { hasText: "decision" })
      .first();
    await decision.locator("a").press("Enter");
    await page.waitForSelector("[data-testid=chain-graph]", WAIT);
    const nodes = await page
      .locator("[data-testid=chain-graph] [data-node]")
      .evaluateAll((elements) => elements.map((element) => element.getAttribute("data-node")));
    expect(nodes).toEqual([OPS, SUPPORT]);
    expect(await page.locator("[data-testid=chain-graph] .edge").count()).toBe(1);
    expect(await page.locator("[data-testid=chain-list]").textContent()).toContain("principal");
    await shot("event");
  });

  it("O117: a <script> in a tool argument is shown as text and never runs", async () => {
    await page.goto(`${base}/#/activity?agent=${encodeURIComponent(SUPPORT)}&outcome=denied`);
    await page.waitForSelector("[data-testid=timeline] tbody tr", WAIT);
    const links = await page
      .locator("[data-testid=timeline] tbody tr a")
      .evaluateAll((elements) => elements.map((element) => element.getAttribute("href")));
    let found = false;
    for (const link of links) {
      await page.goto(`${base}/${link}`);
      await page.waitForSelector("[data-testid=event-record]", WAIT);
      const record = (await page.locator("[data-testid=event-record]").textContent()) ?? "";
      if (!record.includes("<script>")) continue;
      found = true;
      expect(record).toContain(JSON.stringify(XSS_ARGUMENT).slice(1, -1));
    }
    expect(found).toBe(true);
    expect(await page.evaluate("window.__agentgateXss")).toBeUndefined();
    expect(await page.locator("#app script, #app img").count()).toBe(0);
  });

  it("denials are grouped by reason and policy; least privilege lists findings with changes", async () => {
    await page.goto(`${base}/#/denials`);
    await page.waitForSelector("[data-testid=by-policy] tbody tr", WAIT);
    expect(await page.locator("[data-testid=by-policy] tbody tr").first().textContent()).toContain(
      "support-reads-acme-only",
    );
    await shot("denials");
    await page.goto(`${base}/#/findings`);
    await page.waitForSelector("[data-testid=findings] tbody tr", WAIT);
    for (const kind of [
      "unused_scope",
      "unused_permission",
      "unknown_owner",
      "approvals_always_granted",
    ])
      expect(
        await page.locator(`[data-testid=findings] tr[data-kind=${kind}]`).count(),
      ).toBeGreaterThan(0);
    await shot("least-privilege");
  });

  it("the integrity page says how far the log verifies and that it is not anchored", async () => {
    await page.goto(`${base}/#/integrity`);
    await page.waitForSelector("[data-testid=chains] tbody tr", WAIT);
    expect(await page.locator("[data-testid=integrity-status]").textContent()).toContain(
      "verifies",
    );
    expect(await page.locator("[data-testid=not-anchored-badge]").isVisible()).toBe(true);
    const colour = await page.evaluate(
      "getComputedStyle(document.querySelector('[data-testid=not-anchored-badge]')).color",
    );
    expect(colour).toBe("rgb(164, 14, 38)");
    await shot("integrity");
  });

  it("O121: a tampered log raises the integrity alarm on every page", async () => {
    tamper(dir);
    await page.goto(`${base}/#/inventory`);
    await page.reload();
    await page.waitForSelector("[data-testid=integrity-alarm]", WAIT);
    expect(await page.locator("[data-testid=integrity-alarm]").textContent()).toContain(
      "does not verify",
    );
    await page.goto(`${base}/#/integrity`);
    await page.waitForSelector("[data-testid=chains] .badge.bad", WAIT);
    expect(await page.locator("[data-testid=integrity-status]").textContent()).toContain(
      "NOT verify",
    );
    await shot("integrity-tampered");
  });
});
