import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { act, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { AutoscalePolicySchema } from "@/gen/coderunner/v1/autoscale_pb";
import { FieldPathSchema, ViolationSchema, ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import {
  type Deployment,
  DeploymentSchema,
  DeploymentService,
  DeploymentStatus,
  ResourceLimitsSchema,
  type UpdateDeploymentRequest,
} from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { ScalePanel } from "./ScalePanel";

const ID = "66666666-6666-4666-8666-666666666666";

function deployment(over: Partial<Pick<Deployment, "replicas" | "limits" | "autoscale">> = {}): Deployment {
  return create(DeploymentSchema, {
    id: ID,
    name: "shop",
    status: DeploymentStatus.RUNNING,
    replicas: 1,
    limits: { cpuMillicores: 500, memoryBytes: 256n << 20n },
    ...over,
  });
}

function renderPanel(update: (req: UpdateDeploymentRequest) => Deployment, d = deployment()) {
  const changed: (Deployment | undefined)[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(DeploymentService, { updateDeployment: (req) => ({ deployment: update(req) }) });
  });
  // The page holds the deployment and passes changes back down, as here.
  function Page() {
    const [current, setCurrent] = useState(d);
    return (
      <ScalePanel
        deployment={current}
        onChanged={(x) => {
          changed.push(x);
          if (x) setCurrent(x);
        }}
      />
    );
  }
  renderApp({ transport, route: "/", token: "t", children: <Page /> });
  return changed;
}

/** renderWatched renders the panel for a deployment that changes elsewhere: push shows it a new version. */
function renderWatched(d = deployment()) {
  let push: (d: Deployment) => void = () => {};
  function Page() {
    const [current, setCurrent] = useState(d);
    push = setCurrent;
    return <ScalePanel deployment={current} onChanged={(x) => x && setCurrent(x)} />;
  }
  renderApp({ transport: createRouterTransport(() => {}), route: "/", token: "t", children: <Page /> });
  return (next: Deployment) => act(() => push(next));
}

describe("ScalePanel", () => {
  it("shows the current values and sends replicas and limits with their mask", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    const changed = renderPanel((req) => {
      sent.push(req);
      return deployment({ replicas: req.replicas, limits: req.limits });
    });
    expect(screen.getByLabelText("Replicas")).toHaveValue("1");
    expect(screen.getByLabelText("CPU (cores)")).toHaveValue("0.5");
    expect(screen.getByLabelText("Memory (MiB)")).toHaveValue("256");
    expect(screen.getByRole("button", { name: "Save scale" })).toBeDisabled();

    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("Replicas"));
    await user.type(screen.getByLabelText("Replicas"), "3");
    await user.clear(screen.getByLabelText("Memory (MiB)"));
    await user.type(screen.getByLabelText("Memory (MiB)"), "512");
    await user.clear(screen.getByLabelText("CPU (cores)"));
    await user.click(screen.getByRole("button", { name: "Save scale" }));

    await screen.findByText("Scale saved.");
    expect(sent).toHaveLength(1);
    const [req] = sent;
    expect(req?.id).toBe(ID);
    expect(req?.updateMask?.paths).toEqual(["replicas", "limits"]);
    expect(req?.replicas).toBe(3);
    expect(req?.limits?.cpuMillicores).toBe(0); // empty: the server's default
    expect(req?.limits?.memoryBytes).toBe(512n << 20n);
    expect(changed[0]?.replicas).toBe(3);
  });

  it("follows a change made elsewhere while not edited here", () => {
    const push = renderWatched();
    push(deployment({ replicas: 3, limits: create(ResourceLimitsSchema, { cpuMillicores: 1000, memoryBytes: 512n << 20n }) }));
    expect(screen.getByLabelText("Replicas")).toHaveValue("3");
    expect(screen.getByLabelText("CPU (cores)")).toHaveValue("1");
    expect(screen.getByLabelText("Memory (MiB)")).toHaveValue("512");
    expect(screen.getByRole("button", { name: "Save scale" })).toBeDisabled();
  });

  it("keeps an edit made here when the deployment changes elsewhere", async () => {
    const push = renderWatched();
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("Memory (MiB)"));
    await user.type(screen.getByLabelText("Memory (MiB)"), "1024");
    push(deployment({ replicas: 3 }));
    expect(screen.getByLabelText("Memory (MiB)")).toHaveValue("1024");
    expect(screen.getByLabelText("Replicas")).toHaveValue("1");
    expect(screen.getByRole("button", { name: "Save scale" })).toBeEnabled();
  });

  it("names a field that is out of range without calling the server", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return deployment();
    });
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("Replicas"));
    await user.type(screen.getByLabelText("Replicas"), "11");
    await user.click(screen.getByRole("button", { name: "Save scale" }));
    expect(await screen.findByText("Enter a whole number of instances from 1 to 10.")).toBeInTheDocument();
    expect(screen.getByLabelText("Replicas")).toHaveAttribute("aria-invalid", "true");
    expect(sent).toHaveLength(0);
  });

  it("puts the server's violations beside their fields and other errors below", async () => {
    let fail: ConnectError = new ConnectError("", Code.InvalidArgument);
    renderPanel(() => {
      throw fail;
    });
    const violation = (fieldName: string, sub: string | undefined, message: string) =>
      create(ViolationSchema, {
        field: create(FieldPathSchema, { elements: [{ fieldName }, ...(sub ? [{ fieldName: sub }] : [])] }),
        message,
      });
    fail = new ConnectError("invalid", Code.InvalidArgument, undefined, [
      {
        desc: ViolationsSchema,
        value: { violations: [violation("limits", "memory_bytes", "value must be less than or equal to 8589934592")] },
      },
    ]);
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("Memory (MiB)"));
    await user.type(screen.getByLabelText("Memory (MiB)"), "1024");
    await user.click(screen.getByRole("button", { name: "Save scale" }));
    expect(await screen.findByText("value must be less than or equal to 8589934592")).toHaveAttribute("id", "scale-memoryMib-error");

    fail = new ConnectError("deployment \"shop\" was deleted", Code.FailedPrecondition);
    await user.click(screen.getByRole("button", { name: "Save scale" }));
    await waitFor(() => expect(screen.getByText('deployment "shop" was deleted')).toBeInTheDocument());
    expect(screen.queryByText("value must be less than or equal to 8589934592")).not.toBeInTheDocument();
  });

  it("under an autoscale policy locks the replica count and sends the limits alone", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    const autoscale = create(AutoscalePolicySchema, { minReplicas: 1, maxReplicas: 4, targetCpuPercent: 70 });
    renderPanel((req) => {
      sent.push(req);
      return deployment({ replicas: 2, limits: req.limits, autoscale });
    }, deployment({ replicas: 2, autoscale }));
    expect(screen.getByLabelText("Replicas")).toBeDisabled();
    expect(screen.getByText("set by autoscaling, 1 to 4")).toBeInTheDocument();
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("Memory (MiB)"));
    await user.type(screen.getByLabelText("Memory (MiB)"), "512");
    await user.click(screen.getByRole("button", { name: "Save scale" }));
    await screen.findByText("Scale saved.");
    expect(sent[0]?.updateMask?.paths).toEqual(["limits"]);
    expect(sent[0]?.limits?.memoryBytes).toBe(512n << 20n);
  });
});
