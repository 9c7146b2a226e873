import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { ConfigService, type DeleteSecretRequest, type Secret, SecretSchema, type SetSecretRequest } from "@/gen/coderunner/v1/config_pb";
import { DeploymentSchema, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { ProjectSchema } from "@/gen/coderunner/v1/project_pb";
import { renderApp } from "@/test/render";
import { SecretsPanel } from "./SecretsPanel";

const ID = "88888888-8888-4888-8888-888888888888";
const running = create(DeploymentSchema, { id: ID, name: "shop", status: DeploymentStatus.RUNNING });
const PROJECT = "99999999-9999-4999-8999-999999999999";
const project = create(ProjectSchema, { id: PROJECT, name: "shop", deploymentCount: 2 });
const when = timestampFromMs(Date.now() - 120_000);
const VALUE = "sk_live_do-not-show-me";

function violation(field: string, message: string): ConnectError {
  const violations = create(ViolationsSchema, { violations: [{ field: { elements: [{ fieldName: field }] }, ruleId: "x", message }] });
  return new ConnectError("invalid", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations }]);
}

/** renderPanel runs the panel (a deployment's, unless of a project) against an in-memory secret store. */
function renderPanel(opts: { fail?: ConnectError; ofProject?: boolean } = {}) {
  const scope = opts.ofProject ? { case: "projectId", value: PROJECT } : { case: "deploymentId", value: ID };
  const secrets = new Map<string, Secret>([
    ["DATABASE_URL", create(SecretSchema, { name: "DATABASE_URL", version: 2n, updatedAt: when, updatedBy: "ada@example.com" })],
  ]);
  const sets: SetSecretRequest[] = [];
  const deletes: DeleteSecretRequest[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(ConfigService, {
      listSecrets: (req) => {
        expect(req.scope).toEqual(scope);
        return { secrets: [...secrets.values()].sort((a, b) => a.name.localeCompare(b.name)) };
      },
      setSecret: (req) => {
        expect(req.scope).toEqual(scope);
        sets.push(req);
        if (opts.fail) throw opts.fail;
        const s = create(SecretSchema, { name: req.name, version: (secrets.get(req.name)?.version ?? 0n) + 1n, updatedAt: timestampFromMs(Date.now()), updatedBy: "ada@example.com" });
        secrets.set(req.name, s);
        return { secret: s };
      },
      deleteSecret: (req) => {
        expect(req.scope).toEqual(scope);
        deletes.push(req);
        secrets.delete(req.name);
        return {};
      },
    });
  });
  const panel = opts.ofProject ? <SecretsPanel project={project} /> : <SecretsPanel deployment={running} />;
  const utils = renderApp({ transport, route: "/", token: "t", children: panel });
  return { ...utils, sets, deletes };
}

describe("SecretsPanel", () => {
  it("lists names, versions and who set them, never values", async () => {
    renderPanel();
    const row = (await screen.findByText("DATABASE_URL")).closest("li")!;
    expect(row).toHaveTextContent("version 2 · set 2 min ago by ada@example.com");
  });

  it("sets a secret from a password input and clears the value once saved", async () => {
    const { sets, container } = renderPanel();
    const user = userEvent.setup();
    await screen.findByText("DATABASE_URL");
    const value = screen.getByLabelText("Value");
    expect(value).toHaveAttribute("type", "password");
    await user.type(screen.getByLabelText("Name"), "API_KEY");
    await user.type(value, VALUE);
    // Typed, the value stays out of the DOM's attributes.
    expect(container.innerHTML).not.toContain(VALUE);
    await user.click(screen.getByRole("button", { name: "Set secret" }));
    expect(await screen.findByText("Secret API_KEY saved (version 1).")).toBeInTheDocument();
    expect(sets[0]).toMatchObject({ scope: { case: "deploymentId", value: ID }, name: "API_KEY", value: VALUE });
    expect(value).toHaveValue("");
    expect(screen.getByLabelText("Name")).toHaveValue("");
    await waitFor(() => expect(within(screen.getByRole("list", { name: "Secrets" })).getAllByRole("listitem")).toHaveLength(2));
    expect(container.innerHTML).not.toContain(VALUE);
  });

  it("shows the server's violations beside their fields and keeps what was typed", async () => {
    renderPanel({ fail: violation("name", "PORT and HOST are set by CodeRunner") });
    const user = userEvent.setup();
    await screen.findByText("DATABASE_URL");
    await user.type(screen.getByLabelText("Name"), "PORT");
    await user.type(screen.getByLabelText("Value"), "8080");
    await user.click(screen.getByRole("button", { name: "Set secret" }));
    expect(await screen.findByText("PORT and HOST are set by CodeRunner")).toHaveAttribute("id", "secret-name-error");
    expect(screen.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Value")).toHaveValue("8080");
  });

  it("deletes a secret after a confirmation", async () => {
    const { deletes } = renderPanel();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Delete secret DATABASE_URL" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("Delete secret DATABASE_URL?");
    expect(deletes).toEqual([]);
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("Secret DATABASE_URL deleted.")).toBeInTheDocument();
    expect(deletes[0]).toMatchObject({ scope: { case: "deploymentId", value: ID }, name: "DATABASE_URL" });
    expect(await screen.findByText("No secrets.")).toBeInTheDocument();
  });

  it("of a project: sets and deletes in the project's scope and says what that does", async () => {
    const { sets, deletes, container } = renderPanel({ ofProject: true });
    const user = userEvent.setup();
    await screen.findByText("DATABASE_URL");
    expect(screen.getByText(/every deployment of the project inherits them, and a deployment's own variable or secret of the same name wins/)).toBeInTheDocument();
    expect(screen.getByText(/restarts the project's running deployments/)).toBeInTheDocument();
    await user.type(screen.getByLabelText("Name"), "SHARED_TOKEN");
    await user.type(screen.getByLabelText("Value"), VALUE);
    await user.click(screen.getByRole("button", { name: "Set secret" }));
    expect(await screen.findByText("Secret SHARED_TOKEN saved (version 1).")).toBeInTheDocument();
    expect(sets[0]).toMatchObject({ scope: { case: "projectId", value: PROJECT }, name: "SHARED_TOKEN", value: VALUE });
    expect(container.innerHTML).not.toContain(VALUE);
    await user.click(screen.getByRole("button", { name: "Delete secret DATABASE_URL" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent("The project's running deployments restart without it");
    await user.click(within(dialog).getByRole("button", { name: "Delete" }));
    expect(await screen.findByText("Secret DATABASE_URL deleted.")).toBeInTheDocument();
    expect(deletes[0]).toMatchObject({ scope: { case: "projectId", value: PROJECT }, name: "DATABASE_URL" });
  });

  it("of a project: a refusal while a deployment is being deployed shows the server's reason and keeps the value", async () => {
    const reason = "the project's deployment shop-api is being deployed; change the project's configuration once it is running, stopped or failed";
    renderPanel({ ofProject: true, fail: new ConnectError(reason, Code.FailedPrecondition) });
    const user = userEvent.setup();
    await screen.findByText("DATABASE_URL");
    await user.type(screen.getByLabelText("Name"), "SHARED_TOKEN");
    await user.type(screen.getByLabelText("Value"), "x");
    await user.click(screen.getByRole("button", { name: "Set secret" }));
    expect(await screen.findByRole("alert")).toHaveTextContent(reason);
    expect(screen.getByLabelText("Value")).toHaveValue("x");
  });
});
