import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import {
  type Deployment,
  DeploymentSchema,
  DeploymentService,
  DeploymentStatus,
  type RedeployDeploymentRequest,
} from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { RedeployPanel } from "./RedeployPanel";

const ID = "77777777-7777-4777-8777-777777777777";
const running = create(DeploymentSchema, { id: ID, name: "blog", status: DeploymentStatus.RUNNING, revision: 2n });

function renderPanel(redeploy: (req: RedeployDeploymentRequest) => Deployment, d: Deployment = running) {
  const transport = createRouterTransport(({ service }) => {
    service(DeploymentService, { redeployDeployment: (req) => ({ deployment: redeploy(req) }) });
  });
  renderApp({ transport, route: "/", token: "t", children: <RedeployPanel deployment={d} onChanged={() => {}} /> });
}

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Holds the deployment as the page does, so the panel sees it change. */
function Page({ expose }: { expose: (set: (d: Deployment) => void) => void }) {
  const [d, setD] = useState<Deployment>(running);
  expose(setD);
  return <RedeployPanel deployment={d} onChanged={(next) => next && setD(next)} />;
}

describe("RedeployPanel", () => {
  it("redeploys the stored source after a confirmation", async () => {
    const sent: RedeployDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return create(DeploymentSchema, { ...running, status: DeploymentStatus.PENDING, revision: 3n });
    });
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Redeploy" }));
    await user.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Redeploy" }));
    expect(await screen.findByText("Revision 3 is being built; follow it in the logs.")).toBeInTheDocument();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.files).toHaveLength(0);
    expect(sent[0]?.archive).toHaveLength(0);
  });

  it("follows the started revision until it is live, or failed while the previous one serves on", async () => {
    let set: (d: Deployment) => void = () => {};
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        redeployDeployment: () => ({ deployment: create(DeploymentSchema, { ...running, status: DeploymentStatus.PENDING, revision: 3n }) }),
      });
    });
    renderApp({ transport, route: "/", token: "t", children: <Page expose={(s) => (set = s)} /> });
    const user = userEvent.setup();
    await user.click(screen.getByRole("button", { name: "Redeploy" }));
    await user.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Redeploy" }));
    expect(await screen.findByText("Revision 3 is being built; follow it in the logs.")).toBeInTheDocument();

    act(() => set(create(DeploymentSchema, { ...running, status: DeploymentStatus.RUNNING, revision: 2n, replacementFailed: true })));
    expect(screen.getByText("Revision 3 failed; revision 2 serves on. The reason is shown above.")).toBeInTheDocument();

    act(() => set(create(DeploymentSchema, { ...running, status: DeploymentStatus.RUNNING, revision: 3n })));
    expect(screen.getByText("Revision 3 is live.")).toBeInTheDocument();
  });

  it("sends picked files as the new source, replacing the stored one", async () => {
    const sent: RedeployDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return create(DeploymentSchema, { ...running, status: DeploymentStatus.PENDING, revision: 3n });
    });
    const user = userEvent.setup();
    await user.upload(screen.getByTestId("files-input"), [
      new File(["name: blog\n"], "manifest.yaml", { type: "text/yaml" }),
      new File(["# notes\n"], "README.md", { type: "text/markdown" }),
    ]);
    expect(screen.getByTestId("new-source")).toHaveTextContent("2 files: manifest.yaml, README.md");
    await user.click(screen.getByRole("button", { name: "Redeploy with this source" }));
    await screen.findByText("Revision 3 is being built; follow it in the logs.");
    expect(sent).toHaveLength(1);
    const files = sent[0]?.files ?? [];
    expect(files.map((f) => [f.path, decode(f.content)])).toEqual([
      ["manifest.yaml", "name: blog\n"],
      ["README.md", "# notes\n"],
    ]);
    expect(screen.queryByTestId("new-source")).not.toBeInTheDocument();
  });

  it("sends an archive as is", async () => {
    const sent: RedeployDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return running;
    });
    const bytes = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]);
    const user = userEvent.setup();
    await user.upload(screen.getByTestId("archive-input"), new File([bytes], "v2.tar.gz", { type: "application/gzip" }));
    expect(screen.getByTestId("new-source")).toHaveTextContent("v2.tar.gz");
    await user.click(screen.getByRole("button", { name: "Redeploy with this source" }));
    await screen.findByRole("status");
    expect(Array.from(sent[0]?.archive ?? [])).toEqual(Array.from(bytes));
    expect(sent[0]?.files).toHaveLength(0);
  });

  it("shows why the server refused and keeps the new source to try again", async () => {
    renderPanel(() => {
      throw new ConnectError('cannot apply the manifest change: field "title" changes type; the running version and its data are unchanged', Code.FailedPrecondition);
    });
    const user = userEvent.setup();
    await user.upload(screen.getByTestId("files-input"), new File(["name: blog\n"], "manifest.yaml"));
    await user.click(screen.getByRole("button", { name: "Redeploy with this source" }));
    expect(await screen.findByText(/field "title" changes type/)).toBeInTheDocument();
    expect(screen.getByTestId("new-source")).toHaveTextContent("1 file: manifest.yaml");
    expect(screen.queryByRole("status")).not.toBeInTheDocument();
  });

  it("offers nothing for a deleted deployment", () => {
    renderPanel(() => running, create(DeploymentSchema, { ...running, status: DeploymentStatus.DESTROYED }));
    expect(screen.getByRole("button", { name: "Redeploy" })).toBeDisabled();
    expect(screen.queryByTestId("dropzone")).not.toBeInTheDocument();
  });
});
