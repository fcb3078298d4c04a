import { existsSync } from "node:fs";
import { AgentGateError } from "@agentgate/core";

/** Where Debian's `chromium` package puts the browser; `AGENTGATE_CHROMIUM` overrides it. */
export function chromiumPath(): string {
  return process.env.AGENTGATE_CHROMIUM ?? "/usr/bin/chromium";
}

/**
 * Prints `html` to a PDF file with headless Chromium (`playwright-core`). Every request the page
 * makes is refused: the pack is self-contained, and a page of log content fetches nothing.
 * Throws `invalid_configuration` when no Chromium is installed.
 */
export async function printPdf(html: string, file: string): Promise<void> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath))
    throw new AgentGateError(
      "invalid_configuration",
      `No Chromium at ${executablePath} to print the PDF: install it (Debian: apt-get install chromium) or set AGENTGATE_CHROMIUM.`,
    );
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath, headless: true });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, offline: true });
    const page = await context.newPage();
    await page.route("**/*", (route) => route.abort());
    await page.setContent(html, { waitUntil: "load" });
    await page.pdf({
      path: file,
      format: "A4",
      landscape: true,
      printBackground: true,
      margin: { top: "12mm", bottom: "12mm", left: "10mm", right: "10mm" },
    });
  } finally {
    await browser.close();
  }
}
