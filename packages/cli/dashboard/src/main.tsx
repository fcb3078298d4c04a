import { render } from "preact";
import type { Summary } from "../../src/dashboard/api-schema.js";
import { useApi } from "./api.js";
import { ActivityPage } from "./pages/activity.js";
import { DenialsPage } from "./pages/denials.js";
import { EventPage } from "./pages/event.js";
import { FindingsPage } from "./pages/findings.js";
import { IntegrityPage } from "./pages/integrity.js";
import { InventoryPage } from "./pages/inventory.js";
import { href, useRoute } from "./route.js";
import "uplot/dist/uPlot.min.css";
import "./styles.css";

const PAGES = [
  ["inventory", "Inventory"],
  ["activity", "Activity"],
  ["denials", "Denials"],
  ["findings", "Least privilege"],
  ["integrity", "Integrity"],
] as const;

/** The alarm every page shows when the log does not verify or no witness anchors it. */
function IntegrityBanner({ summary }: { summary: Summary }) {
  const { integrity } = summary;
  if (!integrity.ok) {
    const broken = integrity.chains.find((chain) => !chain.ok);
    return (
      <div class="alarm" role="alert" data-testid="integrity-alarm">
        <strong>Audit log does not verify.</strong> Chain {broken?.writer} breaks at record{" "}
        {broken?.firstBadSeq ?? "?"}: {broken?.reason}. Only the records before it are shown.{" "}
        <a href={href("integrity")}>Details</a>
      </div>
    );
  }
  if (!integrity.anchored)
    return (
      <div class="warning" role="status" data-testid="not-anchored">
        <strong>Not anchored:</strong> no witness cosigned this log; anyone who can write its
        directory can rewrite it.
      </div>
    );
  return null;
}

function App() {
  const route = useRoute();
  const summary = useApi<Summary>(`/api/summary?r=${encodeURIComponent(route.page)}`);
  const current = route.page === "event" ? "activity" : route.page;
  return (
    <>
      <header>
        <h1>AgentGate</h1>
        {summary.state === "ok" && (
          <p class="domain">
            {summary.value.trustDomain} · {summary.value.agents} agents · {summary.value.calls}{" "}
            calls · {summary.value.denials} denials · {summary.value.findings} findings
          </p>
        )}
        <nav aria-label="Dashboard pages">
          <ul>
            {PAGES.map(([page, label]) => (
              <li key={page}>
                <a href={href(page)} aria-current={current === page ? "page" : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {summary.state === "ok" && <IntegrityBanner summary={summary.value} />}
      <main id="main" tabIndex={-1}>
        {route.page === "inventory" && <InventoryPage />}
        {route.page === "activity" && <ActivityPage params={route.params} />}
        {route.page === "event" && route.arg !== undefined && <EventPage id={route.arg} />}
        {route.page === "denials" && <DenialsPage />}
        {route.page === "findings" && <FindingsPage />}
        {route.page === "integrity" && <IntegrityPage />}
      </main>
    </>
  );
}

const root = document.getElementById("app");
if (root !== null) render(<App />, root);
