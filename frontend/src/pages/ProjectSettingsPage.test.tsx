import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { ConfigService } from "@/gen/coderunner/v1/config_pb";
import { type Project, ProjectSchema, ProjectService, type UpdateProjectRequest } from "@/gen/coderunner/v1/project_pb";
import { renderApp } from "@/test/render";

const SHOP = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

/** server holds one project; fail, when given, refuses the next UpdateProject. */
function server(opts: { fail?: ConnectError } = {}) {
  let project: Project = create(ProjectSchema, { id: SHOP, name: "shop", deploymentCount: 2, env: { REGION: "eu" } });
  const updates: UpdateProjectRequest[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, { verify: () => ({ user: { id: "u", email: "ada@example.com" } }) });
    service(ProjectService, {
      listProjects: () => ({ projects: [project] }),
      getProject: () => ({ project }),
      updateProject(req) {
        updates.push(req);
        if (opts.fail) throw opts.fail;
        project = create(ProjectSchema, { ...project, env: req.env });
        return { project };
      },
    });
    service(ConfigService, { listSecrets: () => ({ secrets: [] }) });
  });
  return { transport, updates };
}

const names = () => screen.getAllByLabelText(/^Variable \d+ name$/).map((e) => (e as HTMLInputElement).value);

describe("project settings", () => {
  it("edits the shared variables and saves them with the env mask", async () => {
    const { transport, updates } = server();
    renderApp({ transport, route: `/projects/${SHOP}`, token: "t" });
    expect(await screen.findByRole("heading", { name: "shop" })).toBeInTheDocument();
    expect(screen.getByText(/a deployment's own variable or secret of the same name wins\. Saving restarts the project's running deployments/)).toBeInTheDocument();
    expect(names()).toEqual(["REGION"]);
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Add variable" }));
    await user.type(screen.getByLabelText("Variable 2 name"), "LOG_LEVEL");
    await user.type(screen.getByLabelText("Variable 2 value"), "debug");
    await user.click(screen.getByRole("button", { name: "Save shared variables" }));
    expect(await screen.findByText(/Saved; the project's running deployments restart/)).toBeInTheDocument();
    expect(updates[0]).toMatchObject({ id: SHOP, env: { REGION: "eu", LOG_LEVEL: "debug" }, updateMask: { paths: ["env"] } });
    expect(names()).toEqual(["LOG_LEVEL", "REGION"]);
    expect(screen.getByRole("button", { name: "Save shared variables" })).toBeDisabled();
    // The project's secrets are on the same page.
    expect(screen.getByText("No secrets.")).toBeInTheDocument();
  });

  it("shows a failed_precondition refusal and keeps the edit", async () => {
    const reason = "the project's deployment shop-api is being deployed; change the project's configuration once it is running, stopped or failed";
    const { transport } = server({ fail: new ConnectError(reason, Code.FailedPrecondition) });
    renderApp({ transport, route: `/projects/${SHOP}`, token: "t" });
    const user = userEvent.setup();
    await user.type(await screen.findByLabelText("Variable 1 value"), "-west");
    await user.click(screen.getByRole("button", { name: "Save shared variables" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(reason);
    expect(screen.getByLabelText("Variable 1 value")).toHaveValue("eu-west");
  });

  it("shows a violation of a variable's name beside the variables", async () => {
    const violations = create(ViolationsSchema, {
      violations: [{ field: { elements: [{ fieldName: "env", subscript: { case: "stringKey", value: "PORT" } }] }, ruleId: "env_reserved", message: "PORT and HOST are set by CodeRunner" }],
    });
    const fail = new ConnectError("invalid", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations }]);
    const { transport } = server({ fail });
    renderApp({ transport, route: `/projects/${SHOP}`, token: "t" });
    const user = userEvent.setup();
    await user.clear(await screen.findByLabelText("Variable 1 name"));
    await user.type(screen.getByLabelText("Variable 1 name"), "PORT");
    await user.click(screen.getByRole("button", { name: "Save shared variables" }));
    expect(await screen.findByText('env["PORT"]: PORT and HOST are set by CodeRunner')).toHaveAttribute("id", "project-env-error");
  });

  it("is reached from the projects list", async () => {
    const { transport } = server();
    renderApp({ transport, route: "/projects", token: "t" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("link", { name: "Settings of project shop" }));
    expect(await screen.findByRole("button", { name: "Save shared variables" })).toBeInTheDocument();
  });
});
