import { create } from "@bufbuild/protobuf";
import { createRouterTransport } from "@connectrpc/connect";
import { act, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { type Deployment, DeploymentSchema, DeploymentService, DeploymentStatus, type UpdateDeploymentRequest } from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { SettingsPanel } from "./SettingsPanel";

const ID = "88888888-8888-4888-8888-888888888888";

function deployment(env: Record<string, string>): Deployment {
  return create(DeploymentSchema, { id: ID, name: "shop", status: DeploymentStatus.RUNNING, replicas: 1, env });
}

/**
 * renderPanel holds the deployment as the page does; push shows the panel
 * a version changed elsewhere (another tab, a watch event).
 */
function renderPanel(d: Deployment, update: (req: UpdateDeploymentRequest) => Deployment = () => d) {
  let set: (d: Deployment) => void = () => {};
  function Page() {
    const [current, setCurrent] = useState(d);
    set = setCurrent;
    return <SettingsPanel deployment={current} onChanged={(x) => x && setCurrent(x)} onDeleted={() => {}} />;
  }
  const transport = createRouterTransport(({ service }) => {
    service(DeploymentService, { updateDeployment: (req) => ({ deployment: update(req) }) });
  });
  renderApp({ transport, route: "/", token: "t", children: <Page /> });
  return (next: Deployment) => act(() => set(next));
}

const names = () => screen.getAllByLabelText(/^Variable \d+ name$/).map((e) => (e as HTMLInputElement).value);

describe("SettingsPanel environment", () => {
  it("follows a change made elsewhere while not edited here", () => {
    const push = renderPanel(deployment({ A: "1" }));
    push(deployment({ A: "1", B: "2" }));
    expect(names()).toEqual(["A", "B"]);
    expect(screen.getByRole("button", { name: "Save variables" })).toBeDisabled();
  });

  it("keeps an edit made here when the env changes elsewhere", async () => {
    const push = renderPanel(deployment({ A: "1" }));
    const user = userEvent.setup();
    await user.type(screen.getByLabelText("Variable 1 value"), "0");
    push(deployment({ A: "1", B: "2" }));
    expect(names()).toEqual(["A"]);
    expect(screen.getByLabelText("Variable 1 value")).toHaveValue("10");
    expect(screen.getByRole("button", { name: "Save variables" })).toBeEnabled();
  });

  it("shows the saved env as the server returns it: sorted, rows without a name dropped", async () => {
    const push = renderPanel(deployment({ B: "2" }), (req) => deployment(req.env));
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Add variable" }));
    await user.type(screen.getByLabelText("Variable 2 name"), "A");
    await user.type(screen.getByLabelText("Variable 2 value"), "1");
    await user.click(screen.getByRole("button", { name: "Add variable" }));
    expect(names()).toEqual(["B", "A", ""]);
    await user.click(screen.getByRole("button", { name: "Save variables" }));
    expect(await screen.findByText("Saved.")).toBeInTheDocument();
    expect(names()).toEqual(["A", "B"]);
    push(deployment({ A: "1", B: "2" }));
    expect(names()).toEqual(["A", "B"]);
  });
});
