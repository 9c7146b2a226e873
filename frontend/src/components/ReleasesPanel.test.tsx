import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { type Deployment, DeploymentSchema, DeploymentService, DeploymentStatus, type RollbackDeploymentRequest } from "@/gen/coderunner/v1/deployment_pb";
import { ReleaseKind, ReleaseSchema } from "@/gen/coderunner/v1/release_pb";
import { renderApp } from "@/test/render";
import { NOT_REVERTED, ReleasesPanel } from "./ReleasesPanel";

const ID = "88888888-8888-4888-8888-888888888888";
const running = create(DeploymentSchema, { id: ID, name: "shop", status: DeploymentStatus.RUNNING, revision: 3n, release: 3n });
const when = timestampFromDate(new Date(Date.now() - 60_000));
const releases = [
  create(ReleaseSchema, { number: 3n, kind: ReleaseKind.CONFIG, description: "secret API_KEY set", current: true, createTime: when, createdBy: "ada@example.com", sourceDigest: "sha256:bbbbbbbbbbbbbbbb", configVersion: "c3" }),
  create(ReleaseSchema, { number: 2n, kind: ReleaseKind.REDEPLOY, description: "redeployed from new source", rollbackAvailable: true, createTime: when, sourceDigest: "sha256:bbbbbbbbbbbbbbbb", configVersion: "c2" }),
  create(ReleaseSchema, { number: 1n, kind: ReleaseKind.DEPLOY, description: "deployed", createTime: when, sourceDigest: "sha256:aaaaaaaaaaaaaaaa", configVersion: "c1" }),
];

function renderPanel(rollback: (req: RollbackDeploymentRequest) => Deployment) {
  const transport = createRouterTransport(({ service }) => {
    service(DeploymentService, {
      listReleases: () => ({ releases }),
      rollbackDeployment: (req) => ({ deployment: rollback(req) }),
    });
  });
  renderApp({ transport, route: "/", token: "t", children: <ReleasesPanel deployment={running} changes={0} onChanged={() => {}} /> });
}

describe("ReleasesPanel", () => {
  it("lists releases and offers rollback only where it is possible", async () => {
    renderPanel(() => running);
    const list = await screen.findByRole("list", { name: "Releases" });
    const rows = within(list).getAllByRole("listitem");
    expect(rows).toHaveLength(3);
    expect(within(rows[0]!).getByText("Current")).toBeInTheDocument();
    expect(within(rows[0]!).getByText("secret API_KEY set")).toBeInTheDocument();
    expect(within(rows[0]!).queryByRole("button", { name: "Roll back" })).toBeNull();
    expect(within(rows[1]!).getByRole("button", { name: "Roll back" })).toBeInTheDocument();
    expect(within(rows[2]!).getByText("Pruned")).toBeInTheDocument();
    expect(within(rows[2]!).queryByRole("button", { name: "Roll back" })).toBeNull();
  });

  it("rolls back after a confirmation that names what is not reverted", async () => {
    const sent: RollbackDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return create(DeploymentSchema, { ...running, status: DeploymentStatus.PENDING, release: 4n });
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Roll back" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent(NOT_REVERTED);
    expect(dialog).toHaveTextContent("Roll back to release 2?");
    await user.click(within(dialog).getByRole("button", { name: "Roll back" }));
    expect(await screen.findByText("Rolling back to release 2 as release 4; follow it in the logs.")).toBeInTheDocument();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.deploymentId).toBe(ID);
    expect(sent[0]?.release).toBe(2n);
  });

  it("shows the server's refusal", async () => {
    renderPanel(() => {
      throw new ConnectError("release 2 of \"shop\" is older than the 10 releases kept for rollback", Code.FailedPrecondition);
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Roll back" }));
    await user.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Roll back" }));
    expect(await screen.findByText(/older than the 10 releases kept for rollback/)).toBeInTheDocument();
  });
});
