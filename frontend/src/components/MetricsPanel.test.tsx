import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createRouterTransport } from "@connectrpc/connect";
import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { MetricsService } from "@/gen/coderunner/v1/metrics_pb";
import { renderApp } from "@/test/render";
import { MetricsPanel } from "./MetricsPanel";

const ID = "88888888-8888-4888-8888-888888888888";
const t0 = Date.now() - 60_000;

function renderPanel(replicas: number[], coldStarts: { at: number; tookMs: number; held: number; error?: string }[] = []) {
  const transport = createRouterTransport(({ service }) => {
    service(MetricsService, {
      getDeploymentMetrics: () => ({
        metrics: {
          deploymentId: ID,
          history: replicas.map((r, i) => ({ time: timestampFromMs(t0 + i * 5000), memoryBytes: 1n << 20n, replicas: r })),
          coldStarts: coldStarts.map((c) => ({ at: timestampFromMs(c.at), took: durationFromMs(c.tookMs), heldRequests: c.held, error: c.error ?? "" })),
        },
      }),
      async *streamDeploymentMetrics(_req, ctx) {
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
    });
    service(DeploymentService, {
      listDeploymentEvents: () => ({
        events: [
          { status: DeploymentStatus.RUNNING, reason: "scaled 2 → 3: autoscale: CPU 91 % > 70 %", time: timestampFromMs(t0 + 7000) },
          { status: DeploymentStatus.RUNNING, reason: "configuration changed; restarting", time: timestampFromMs(t0 + 6000) },
          { status: DeploymentStatus.RUNNING, reason: "scaled 1 → 2: autoscale: 5.0 requests in flight per replica > 2", time: timestampFromMs(t0 + 2000) },
        ],
      }),
    });
  });
  return renderApp({ transport, route: "/", token: "t", children: <MetricsPanel deploymentId={ID} /> });
}

describe("MetricsPanel", () => {
  it("charts replicas with a marker for each scaling decision", async () => {
    const { container } = renderPanel([1, 2, 3]);
    expect(await screen.findByRole("img", { name: "Replicas: now 3, highest 3 over 3 samples" })).toBeInTheDocument();
    const decisions = await screen.findByRole("list", { name: "Scaling decisions" });
    const items = within(decisions).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent("2 → 3autoscale: CPU 91 % > 70 %");
    expect(items[1]).toHaveTextContent("autoscale: 5.0 requests in flight per replica > 2");
    const markers = container.querySelectorAll("[data-marker]");
    expect(markers).toHaveLength(2);
    expect(markers[1]?.textContent).toBe("1 → 2: autoscale: 5.0 requests in flight per replica > 2");
  });

  it("waits for replica counts from a server that does not send them yet", async () => {
    renderPanel([0, 0, 0]);
    expect(await screen.findByRole("img", { name: "Replicas: no samples yet" })).toBeInTheDocument();
    expect(screen.getByRole("img", { name: /^Memory: now/ })).toBeInTheDocument();
  });

  it("lists the last cold starts: when, how long, held requests, and a failure's reason", async () => {
    renderPanel([0, 1], [
      { at: Date.now() - 5_000, tookMs: 840, held: 3 },
      { at: Date.now() - 600_000, tookMs: 30_000, held: 1, error: "the app did not listen within 30 s" },
    ]);
    const table = await screen.findByRole("table", { name: "Cold starts" });
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent("just now");
    expect(rows[0]).toHaveTextContent("840 ms");
    expect(rows[0]).toHaveTextContent("3");
    expect(rows[0]).toHaveTextContent("woke");
    expect(rows[1]).toHaveTextContent("30,000 ms");
    expect(rows[1]).toHaveTextContent("the app did not listen within 30 s");
  });

  it("shows no cold-start table without cold starts", async () => {
    renderPanel([1]);
    await screen.findByRole("img", { name: /^Replicas: now 1/ });
    expect(screen.queryByRole("table", { name: "Cold starts" })).not.toBeInTheDocument();
  });
});
