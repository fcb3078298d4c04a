import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { Series } from "../../src/dashboard/api-schema.js";
import { shortName, useApi } from "./api.js";
import { Status } from "./status.js";

const COLOURS = ["#1f6feb", "#8250df", "#bf8700", "#1a7f37", "#cf222e", "#0a7ea4", "#953800"];

/** A uPlot line chart of one measure per agent over time. */
function LineChart({
  series,
  measure,
  label,
}: {
  series: Series;
  measure: "calls" | "denials";
  label: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current;
    if (element === null || series.buckets.length === 0) return;
    const plot = new uPlot(
      {
        width: Math.max(520, Math.min(900, element.clientWidth || 640)),
        height: 220,
        title: label,
        scales: { x: { time: true } },
        axes: [{}, { label: measure }],
        series: [
          {},
          ...series.agents.map((agent, index) => ({
            label: shortName(agent.agent),
            stroke: COLOURS[index % COLOURS.length] ?? "#1f6feb",
            width: 2,
            ...(measure === "denials" ? { dash: [6, 4] } : {}),
          })),
        ],
      },
      [series.buckets, ...series.agents.map((agent) => agent[measure])],
      element,
    );
    return () => plot.destroy();
  }, [series, measure, label]);
  return (
    <div
      ref={box}
      class="chart"
      role="img"
      aria-label={`${label} over time (the numbers are in the table below)`}
    />
  );
}

/** Calls and denials over time per agent, with the numbers in a table for screen readers. */
export function ActivityChart() {
  const series = useApi<Series>("/api/series");
  return (
    <section aria-labelledby="chart-title" data-testid="charts">
      <h3 id="chart-title">Calls and denials over time</h3>
      <Status loaded={series} />
      {series.state === "ok" && series.value.buckets.length === 0 && (
        <p>No calls in the log yet.</p>
      )}
      {series.state === "ok" && series.value.buckets.length > 0 && (
        <>
          <div class="charts">
            <LineChart series={series.value} measure="calls" label="Calls per agent" />
            <LineChart series={series.value} measure="denials" label="Denials per agent" />
          </div>
          <details>
            <summary>
              The numbers ({series.value.bucketSeconds === 3600 ? "per hour" : "per bucket"})
            </summary>
            <table>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  {series.value.agents.map((agent) => (
                    <th scope="col" key={agent.agent}>
                      {shortName(agent.agent)} calls / denials
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {series.value.buckets.map((bucket, index) =>
                  series.value.agents.some((agent) => (agent.calls[index] ?? 0) > 0) ? (
                    <tr key={bucket}>
                      <th scope="row">{new Date(bucket * 1000).toISOString().slice(0, 16)}Z</th>
                      {series.value.agents.map((agent) => (
                        <td key={agent.agent}>
                          {agent.calls[index]} / {agent.denials[index]}
                        </td>
                      ))}
                    </tr>
                  ) : null,
                )}
              </tbody>
            </table>
          </details>
        </>
      )}
    </section>
  );
}
