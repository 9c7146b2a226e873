import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { type Deployment, DeploymentService, DeploymentStatus, Runtime } from "@/gen/coderunner/v1/deployment_pb";
import { MetricsService } from "@/gen/coderunner/v1/metrics_pb";
import { renderApp } from "@/test/render";

const ID = "55555555-5555-4555-8555-555555555555";
const t0 = Date.now() - 60_000;
const base = {
  id: ID,
  name: "shop",
  runtime: Runtime.NODEJS,
  url: "http://shop-x1.localhost:8080/",
  createdAt: timestampFromMs(t0),
  replicas: 1,
  revision: 1n,
};

function routes(opts: { metrics: "failing" | "ok"; updates?: Promise<void>; updated?: Partial<Deployment>[]; next?: { status: DeploymentStatus; statusReason: string; replacementFailed?: boolean } }) {
  return ({ service }: ConnectRouter) => {
    service(AuthService, { verify: () => ({ user: { id: "u", email: "ada@example.com" } }) });
    service(DeploymentService, {
      getDeployment: () => ({ deployment: { ...base, status: DeploymentStatus.BUILDING, updatedAt: timestampFromMs(t0) } }),
      async *watchDeployment(_req, ctx) {
        yield { event: { deployment: { ...base, status: DeploymentStatus.BUILDING, updatedAt: timestampFromMs(t0) }, status: DeploymentStatus.BUILDING } };
        if (opts.updates) {
          await opts.updates;
          const failed = {
            ...base,
            status: DeploymentStatus.FAILED,
            statusReason: "build failed: npm ci exited with code 1:\nnpm error missing script",
            updatedAt: timestampFromMs(t0 + 1000),
            ...opts.next,
          };
          yield { event: { deployment: failed, status: failed.status, previousStatus: DeploymentStatus.BUILDING, reason: failed.statusReason } };
        }
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
      async *streamLogs(_req, ctx) {
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
      listDeploymentEvents: () => ({
        events: [
          { status: DeploymentStatus.BUILDING, previousStatus: DeploymentStatus.PROVISIONING, reason: "running npm ci", time: timestampFromMs(t0 + 500) },
          { status: DeploymentStatus.PENDING, reason: "queued", time: timestampFromMs(t0) },
        ],
      }),
    });
    service(MetricsService, {
      getDeploymentMetrics() {
        if (opts.metrics === "failing") throw new ConnectError("database unreachable", Code.Internal);
        const sample = (s: number, mem: bigint, rps: number) => ({
          time: timestampFromMs(t0 + s * 5000),
          cpuCores: 0.25,
          memoryBytes: mem,
          requestsPerSecond: rps,
          latencyP95Seconds: 0.012,
        });
        return {
          metrics: {
            deploymentId: ID,
            current: sample(2, 48n << 20n, 3),
            history: [sample(0, 40n << 20n, 1), sample(1, 44n << 20n, 2), sample(2, 48n << 20n, 3)],
            cpuLimitCores: 1,
            memoryLimitBytes: 512n << 20n,
            restarts: 2n,
            requests: { success: 120n, clientError: 3n },
          },
        };
      },
      async *streamDeploymentMetrics(req, ctx) {
        expect(req.interval?.seconds).toBe(5n);
        yield { sample: { time: timestampFromMs(t0 + 15_000), cpuCores: 0.5, memoryBytes: 50n << 20n, requestsPerSecond: 7 } };
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
    });
  };
}

describe("DeploymentPage", () => {
  it("follows the status live and shows a failure's reason", async () => {
    let fail = () => {};
    const updates = new Promise<void>((r) => (fail = r));
    renderApp({ routes: routes({ metrics: "failing", updates }), route: `/deployments/${ID}`, token: "t" });
    expect(await screen.findByRole("heading", { name: "shop" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /shop-x1\.localhost/ })).toHaveAttribute("href", "http://shop-x1.localhost:8080/");
    expect(screen.getAllByText("Building").length).toBeGreaterThan(0);
    fail();
    const reason = await screen.findByTestId("status-reason");
    expect(reason).toHaveTextContent("build failed: npm ci exited with code 1");
    expect(reason).toHaveAttribute("role", "alert");
    expect(screen.getByRole("button", { name: "Start" })).toBeInTheDocument();
  });

  it("warns when a replacement failed and the previous revision serves on", async () => {
    let fail = () => {};
    const updates = new Promise<void>((r) => (fail = r));
    const next = {
      status: DeploymentStatus.RUNNING,
      statusReason: "the app exited with code 1 before listening on port 3000:\nError: boom; revision 1 serves on",
      replacementFailed: true,
    };
    renderApp({ routes: routes({ metrics: "failing", updates, next }), route: `/deployments/${ID}`, token: "t" });
    expect(await screen.findByRole("heading", { name: "shop" })).toBeInTheDocument();
    fail();
    const reason = await screen.findByTestId("status-reason");
    expect(reason).toHaveAttribute("role", "status");
    expect(reason).toHaveTextContent("The last redeploy, restart or configuration change failed; revision 1 serves on.");
    expect(reason).toHaveTextContent("Error: boom");
    expect(screen.getByRole("button", { name: "Restart" })).toBeInTheDocument();
  });

  it("shows the events timeline with reasons", async () => {
    const user = userEvent.setup();
    renderApp({ routes: routes({ metrics: "failing" }), route: `/deployments/${ID}`, token: "t" });
    await user.click(await screen.findByRole("tab", { name: "Events" }));
    const list = await screen.findByRole("list", { name: "Status history" });
    const items = within(list).getAllByRole("listitem");
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent(/Provisioning→Building/);
    expect(items[0]).toHaveTextContent("running npm ci");
    expect(items[1]).toHaveTextContent("queued");
  });

  it("explains that metrics could not be loaded", async () => {
    renderApp({ routes: routes({ metrics: "failing" }), route: `/deployments/${ID}?tab=metrics`, token: "t" });
    expect(await screen.findByText("Could not load metrics")).toBeInTheDocument();
    expect(screen.getByText(/database unreachable/)).toBeInTheDocument();
  });

  it("charts history and live samples", async () => {
    renderApp({ routes: routes({ metrics: "ok" }), route: `/deployments/${ID}?tab=metrics`, token: "t" });
    const memory = await screen.findByRole("img", { name: /^Memory: now/ });
    await waitFor(() => expect(memory).toHaveAccessibleName("Memory: now 50 MiB, highest 50 MiB over 4 samples"));
    expect(screen.getByRole("img", { name: /^Requests per second: now 7\/s/ })).toBeInTheDocument();
    expect(screen.getByText("120 / 0 / 3 / 0")).toBeInTheDocument();
    expect(screen.getByText("512 MiB")).toBeInTheDocument();
  });
});
