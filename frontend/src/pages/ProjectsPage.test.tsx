import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { type Deployment, DeploymentSchema, DeploymentService, DeploymentStatus, type ListDeploymentsRequest } from "@/gen/coderunner/v1/deployment_pb";
import { MetricsService } from "@/gen/coderunner/v1/metrics_pb";
import { type CreateProjectRequest, type Project, ProjectSchema, ProjectService } from "@/gen/coderunner/v1/project_pb";
import { PROJECT_KEY } from "@/lib/projects";
import { renderApp } from "@/test/render";

const DEFAULT = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const SHOP = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const NEW = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
const made = timestampFromMs(Date.now() - 3_600_000);
const defaultProject = create(ProjectSchema, { id: DEFAULT, name: "default", isDefault: true, deploymentCount: 1, createdAt: made });
const shop = create(ProjectSchema, { id: SHOP, name: "shop", description: "the web shop", deploymentCount: 2, createdAt: made });

function dep(id: string, name: string, projectId: string): Deployment {
  return create(DeploymentSchema, { id, name, projectId, status: DeploymentStatus.RUNNING, createdAt: made, updatedAt: made });
}
const deployments = [
  dep("11111111-1111-4111-8111-111111111111", "hello", DEFAULT),
  dep("22222222-2222-4222-8222-222222222222", "cart", SHOP),
  dep("33333333-3333-4333-8333-333333333333", "checkout", SHOP),
];

function server(opts: { createProject?: (req: CreateProjectRequest) => Project; deleteProject?: () => void } = {}) {
  const projects = [defaultProject, shop];
  const listed: ListDeploymentsRequest[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, { verify: () => ({ user: { id: "u", email: "ada@example.com" } }) });
    service(ProjectService, {
      listProjects: () => ({ projects }),
      createProject(req) {
        const p = opts.createProject?.(req) ?? create(ProjectSchema, { id: NEW, name: req.name, description: req.description, createdAt: made });
        projects.push(p);
        return { project: p };
      },
      deleteProject: () => {
        opts.deleteProject?.();
        return {};
      },
    });
    service(DeploymentService, {
      listDeployments(req) {
        listed.push(req);
        const ds = deployments.filter((d) => !req.projectId || d.projectId === req.projectId);
        return { deployments: ds, totalSize: ds.length };
      },
      async *watchDeployments(_req, ctx) {
        // The watch covers every project; the page keeps the current one's.
        for (const d of deployments) yield { event: { deployment: d, status: d.status } };
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
    });
    service(MetricsService, {
      getOverview() {
        throw new ConnectError("", Code.Unimplemented);
      },
    });
  });
  return { transport, listed };
}

const shownDeployments = () =>
  within(screen.getByRole("list", { name: "Deployments" }))
    .getAllByRole("listitem")
    .map((r) => r.getAttribute("data-deployment"));

describe("projects", () => {
  it("shows the default project's deployments, then another project's after switching in the header", async () => {
    const { transport, listed } = server();
    renderApp({ transport, route: "/", token: "t" });
    expect(await screen.findByTestId("current-project")).toHaveTextContent("default");
    await waitFor(() => expect(shownDeployments()).toEqual(["hello"]));
    expect(listed[0]?.projectId).toBe(DEFAULT);

    const user = userEvent.setup();
    await user.selectOptions(screen.getByLabelText("Current project"), "shop");
    expect(await screen.findByTestId("current-project")).toHaveTextContent("shop");
    await waitFor(() => expect(shownDeployments()).toEqual(["cart", "checkout"]));
    expect(listed.at(-1)?.projectId).toBe(SHOP);
    expect(localStorage.getItem(PROJECT_KEY)).toBe(SHOP);
  });

  it("falls back to the default project when the stored one is gone", async () => {
    localStorage.setItem(PROJECT_KEY, "dddddddd-dddd-4ddd-8ddd-dddddddddddd");
    const { transport } = server();
    renderApp({ transport, route: "/", token: "t" });
    expect(await screen.findByTestId("current-project")).toHaveTextContent("default");
    expect(screen.getByLabelText("Current project")).toHaveValue(DEFAULT);
  });

  it("lists projects with their counts and marks the default and the current one", async () => {
    localStorage.setItem(PROJECT_KEY, SHOP);
    const { transport } = server();
    renderApp({ transport, route: "/projects", token: "t" });
    const list = await screen.findByRole("list", { name: "Projects" });
    const [first, second] = within(list).getAllByRole("listitem");
    expect(first).toHaveTextContent("default");
    expect(within(first!).getByText("Default")).toBeInTheDocument();
    expect(within(first!).getByText(/1 deployment ·/)).toBeInTheDocument();
    expect(within(first!).queryByRole("button", { name: /Delete/ })).toBeNull();
    expect(within(second!).getByText("Current")).toBeInTheDocument();
    expect(within(second!).getByText("the web shop")).toBeInTheDocument();
    expect(within(second!).getByText(/2 deployments ·/)).toBeInTheDocument();
  });

  it("creates a project and switches to it", async () => {
    const sent: CreateProjectRequest[] = [];
    const { transport } = server({
      createProject: (req) => {
        sent.push(req);
        return create(ProjectSchema, { id: NEW, name: req.name, createdAt: made });
      },
    });
    renderApp({ transport, route: "/projects", token: "t" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Name"), "Staging");
    await user.click(screen.getByRole("button", { name: "Create project" }));
    await waitFor(() => expect(localStorage.getItem(PROJECT_KEY)).toBe(NEW));
    expect(sent[0]?.name).toBe("staging");
    const row = await screen.findByText("staging", { selector: "span" });
    expect(within(row.closest("li")!).getByText("Current")).toBeInTheDocument();
    expect(screen.getByLabelText("Current project")).toHaveValue(NEW);
  });

  it("shows the server's violation beside the name", async () => {
    const { transport } = server({
      createProject: () => {
        const violations = create(ViolationsSchema, {
          violations: [{ field: { elements: [{ fieldName: "name", fieldNumber: 1 }] }, ruleId: "string.pattern", message: "must start with a letter" }],
        });
        throw new ConnectError("invalid", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations }]);
      },
    });
    renderApp({ transport, route: "/projects", token: "t" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Name"), "1st");
    await user.click(screen.getByRole("button", { name: "Create project" }));
    expect(await screen.findByText("must start with a letter")).toHaveAttribute("id", "project-name-error");
    expect(screen.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
  });

  it("shows why a project that holds deployments cannot be deleted", async () => {
    const { transport } = server({
      deleteProject: () => {
        throw new ConnectError('project "shop" holds cart, checkout; delete them first', Code.FailedPrecondition);
      },
    });
    renderApp({ transport, route: "/projects", token: "t" });
    const user = userEvent.setup();
    const row = (await screen.findByText("the web shop")).closest("li")!;
    await user.click(within(row).getByRole("button", { name: /Delete/ }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("Delete project shop?");
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(await within(row).findByRole("alert")).toHaveTextContent('project "shop" holds cart, checkout; delete them first');
  });
});
