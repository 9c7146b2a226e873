import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import {
  type Deployment,
  DeploymentSchema,
  DeploymentService,
  DeploymentStatus,
  Runtime,
} from "@/gen/coderunner/v1/deployment_pb";
import { MetricsService } from "@/gen/coderunner/v1/metrics_pb";
import { renderApp } from "@/test/render";

const now = Date.now();
function dep(id: string, name: string, status: DeploymentStatus, runtime: Runtime, ageMs: number): Deployment {
  return create(DeploymentSchema, {
    id,
    name,
    status,
    runtime,
    url: `http://${name}-abc123.localhost:8080/`,
    createdAt: timestampFromMs(now - ageMs),
    updatedAt: timestampFromMs(now - ageMs),
  });
}

const hello = dep("11111111-1111-4111-8111-111111111111", "hello", DeploymentStatus.BUILDING, Runtime.NODEJS, 60_000);
const blog = dep("22222222-2222-4222-8222-222222222222", "blog", DeploymentStatus.RUNNING, Runtime.MANIFEST, 3_600_000);

function server(opts: { deployments: Deployment[]; overview?: "failing" | "ok"; release?: Promise<void> }) {
  const stopped: string[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, { verify: () => ({ user: { id: "u", email: "ada@example.com" } }) });
    service(DeploymentService, {
      listDeployments: () => ({ deployments: opts.deployments, totalSize: opts.deployments.length }),
      async *watchDeployments(_req, ctx) {
        for (const d of opts.deployments) yield { event: { deployment: d, status: d.status } };
        if (opts.release) {
          await opts.release;
          // hello finishes building: the list must show it without a reload.
          const running = { ...hello, status: DeploymentStatus.RUNNING, updatedAt: timestampFromMs(now) };
          yield { event: { deployment: running, status: DeploymentStatus.RUNNING, previousStatus: DeploymentStatus.BUILDING } };
        }
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
      stopDeployment(req) {
        stopped.push(req.id);
        return { deployment: { ...blog, status: DeploymentStatus.STOPPED, updatedAt: timestampFromMs(Date.now()) } };
      },
    });
    service(MetricsService, {
      getOverview() {
        if (opts.overview === "ok") {
          return {
            overview: {
              totalDeployments: 2,
              statusCounts: [
                { status: DeploymentStatus.RUNNING, count: 1 },
                { status: DeploymentStatus.BUILDING, count: 1 },
              ],
              totalRequests: 12345n,
              cpuCoresUsed: 0.25,
              cpuCoresLimit: 2,
              memoryBytesUsed: 64n * 1024n * 1024n,
              memoryBytesLimit: 1024n * 1024n * 1024n,
            },
          };
        }
        throw new ConnectError("database unreachable", Code.Internal);
      },
    });
  });
  return { transport, stopped };
}

describe("DeploymentsPage", () => {
  it("lists deployments with status, runtime and URL, and follows live status", async () => {
    let release = () => {};
    const released = new Promise<void>((r) => (release = r));
    const { transport } = server({ deployments: [hello, blog], release: released });
    renderApp({ transport, route: "/", token: "t" });

    const list = await screen.findByRole("list", { name: "Deployments" });
    const rows = within(list).getAllByRole("listitem");
    expect(rows.map((r) => r.getAttribute("data-deployment"))).toEqual(["hello", "blog"]);
    const helloRow = rows[0] as HTMLElement;
    expect(within(helloRow).getByRole("link", { name: "hello" })).toHaveAttribute("href", `/deployments/${hello.id}`);
    expect(within(helloRow).getAllByText("Building").length).toBeGreaterThan(0);
    expect(within(helloRow).getByText("Node.js")).toBeInTheDocument();
    expect(within(helloRow).getByRole("link", { name: /hello-abc123\.localhost:8080/ })).toHaveAttribute("href", hello.url);
    expect(within(rows[1] as HTMLElement).getByText("Manifest API")).toBeInTheDocument();

    release();
    await waitFor(() => expect(within(helloRow).getAllByText("Running").length).toBeGreaterThan(0));
  });

  it("falls back to counts from the list when the overview fails", async () => {
    const { transport } = server({ deployments: [hello, blog] });
    renderApp({ transport, route: "/", token: "t" });
    expect(await screen.findByText(/Usage figures could not be loaded: .*database unreachable/)).toBeInTheDocument();
    const cards = screen.getByTestId("stat-cards");
    await waitFor(() => expect(within(cards).getByText("Deployments").nextSibling).toHaveTextContent("2"));
    expect(within(cards).getByText("Running").nextSibling).toHaveTextContent("1");
  });

  it("shows the overview's stat cards", async () => {
    const { transport } = server({ deployments: [hello, blog], overview: "ok" });
    renderApp({ transport, route: "/", token: "t" });
    const cards = await screen.findByTestId("stat-cards");
    expect(within(cards).getByText("1 running · 0 failed")).toBeInTheDocument();
    expect(within(cards).getByText("12,345")).toBeInTheDocument();
    expect(within(cards).getByText("64 MiB")).toBeInTheDocument();
  });

  it("shows the empty state", async () => {
    const { transport } = server({ deployments: [] });
    renderApp({ transport, route: "/", token: "t" });
    expect(await screen.findByRole("heading", { name: "No deployments yet" })).toBeInTheDocument();
    expect(screen.getAllByRole("link", { name: /New deployment/ }).length).toBeGreaterThan(0);
  });

  it("asks before stopping, then stops", async () => {
    const user = userEvent.setup();
    const { transport, stopped } = server({ deployments: [blog] });
    renderApp({ transport, route: "/", token: "t" });
    await user.click(await screen.findByRole("button", { name: "Stop blog" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("Stop blog?");
    expect(stopped).toEqual([]);
    await user.click(within(dialog).getByRole("button", { name: "Stop" }));
    await waitFor(() => expect(stopped).toEqual([blog.id]));
  });

  it("shows a load failure with a retry", async () => {
    const transport = createRouterTransport(({ service }) => {
      service(AuthService, { verify: () => ({}) });
      service(DeploymentService, {
        listDeployments() {
          throw new ConnectError("database is down", Code.Internal);
        },
        async *watchDeployments() {
          throw new ConnectError("database is down", Code.Internal);
        },
      });
      service(MetricsService, {
        getOverview() {
          throw new ConnectError("", Code.Unimplemented);
        },
      });
    });
    renderApp({ transport, route: "/", token: "t" });
    expect(await screen.findByText("database is down")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
  });
});
