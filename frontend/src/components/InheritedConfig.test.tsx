import { create } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ConfigService, SecretSchema } from "@/gen/coderunner/v1/config_pb";
import { DeploymentSchema, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { ProjectSchema, ProjectService } from "@/gen/coderunner/v1/project_pb";
import { renderApp } from "@/test/render";
import { InheritedConfig, inheritedNames } from "./InheritedConfig";

const ID = "88888888-8888-4888-8888-888888888888";
const PROJECT = "99999999-9999-4999-8999-999999999999";

describe("inheritedNames", () => {
  it("marks what the deployment's own variables or secrets override; a project secret hides a project variable", () => {
    expect(inheritedNames({ REGION: "eu", LEVEL: "info", TOKEN: "plain" }, ["TOKEN", "DB_URL"], { LEVEL: "debug" }, ["DB_URL"])).toEqual([
      { name: "DB_URL", kind: "secret", overridden: true },
      { name: "LEVEL", kind: "variable", overridden: true },
      { name: "REGION", kind: "variable", overridden: false },
      { name: "TOKEN", kind: "secret", overridden: false },
    ]);
  });
});

describe("InheritedConfig", () => {
  it("lists the project's names, never values, and links to its settings", async () => {
    const project = create(ProjectSchema, { id: PROJECT, name: "shop", env: { REGION: "eu-west-1", LEVEL: "info" } });
    const transport = createRouterTransport(({ service }) => {
      service(ProjectService, { getProject: () => ({ project }) });
      service(ConfigService, {
        listSecrets: (req) => ({
          secrets: req.scope.case === "projectId" ? [create(SecretSchema, { name: "SHARED_TOKEN", version: 1n })] : [],
        }),
      });
    });
    const d = create(DeploymentSchema, { id: ID, name: "api", projectId: PROJECT, status: DeploymentStatus.RUNNING, env: { LEVEL: "debug" } });
    const { container } = renderApp({ transport, route: "/", token: "t", children: <InheritedConfig deployment={d} /> });
    const list = await screen.findByRole("list", { name: "Inherited from the project" });
    expect([...list.querySelectorAll("li")].map((li) => li.textContent)).toEqual(["LEVELoverridden", "REGION", "SHARED_TOKENsecret"]);
    expect(list.querySelector('[data-inherited="LEVEL"]')).toHaveAttribute("data-overridden", "true");
    expect(list.querySelector('[data-inherited="REGION"]')).not.toHaveAttribute("data-overridden");
    expect(container.innerHTML).not.toContain("eu-west-1");
    expect(screen.getByRole("link", { name: "project shop" })).toHaveAttribute("href", `/projects/${PROJECT}`);
  });

  it("shows nothing for a deployment without a project", () => {
    const d = create(DeploymentSchema, { id: ID, name: "api", status: DeploymentStatus.RUNNING });
    const { container } = renderApp({ transport: createRouterTransport(() => {}), route: "/", token: "t", children: <InheritedConfig deployment={d} /> });
    expect(container).toBeEmptyDOMElement();
  });
});
