import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { FieldPathSchema, ViolationSchema, ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { type AutoscalePolicy, AutoscalePolicySchema } from "@/gen/coderunner/v1/autoscale_pb";
import { type Deployment, DeploymentSchema, DeploymentService, DeploymentStatus, type UpdateDeploymentRequest } from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { AutoscalePanel } from "./AutoscalePanel";

const ID = "77777777-7777-4777-8777-777777777777";
const seconds = (s: number) => create(DurationSchema, { seconds: BigInt(s) });

function deployment(autoscale?: AutoscalePolicy): Deployment {
  return create(DeploymentSchema, { id: ID, name: "shop", status: DeploymentStatus.RUNNING, replicas: 2, autoscale });
}

/** A stored policy as the server shows it: resolved, every field set. */
const stored = create(AutoscalePolicySchema, {
  template: "balanced",
  minReplicas: 1,
  maxReplicas: 10,
  targetCpuPercent: 70,
  scaleUpCooldown: seconds(0),
  scaleDownCooldown: seconds(300),
  step: 1,
});

function renderPanel(update: (req: UpdateDeploymentRequest) => Deployment, d = deployment()) {
  const transport = createRouterTransport(({ service }) => {
    service(DeploymentService, { updateDeployment: (req) => ({ deployment: update(req) }) });
  });
  function Page() {
    const [current, setCurrent] = useState(d);
    return <AutoscalePanel deployment={current} onChanged={(x) => x && setCurrent(x)} />;
  }
  renderApp({ transport, route: "/", token: "t", children: <Page /> });
}

function violation(path: string, message: string) {
  return create(ViolationSchema, {
    field: create(FieldPathSchema, { elements: path.split(".").map((fieldName) => ({ fieldName })) }),
    message,
  });
}

function failure(code: Code, path: string, message: string) {
  return new ConnectError(message, code, undefined, [{ desc: ViolationsSchema, value: { violations: [violation(path, message)] } }]);
}

describe("AutoscalePanel", () => {
  it("is off for a fixed count; a preset fills the fields with its numbers", async () => {
    renderPanel(() => deployment());
    const user = userEvent.setup();
    const toggle = screen.getByRole("switch", { name: "Autoscaling" });
    expect(toggle).not.toBeChecked();
    expect(screen.getByTestId("autoscale-fixed")).toHaveTextContent("Fixed at 2 replicas");
    expect(screen.getByRole("button", { name: "Save autoscaling" })).toBeDisabled();

    await user.click(toggle);
    expect(screen.getByRole("radio", { name: "Balanced" })).toBeChecked();
    expect(screen.getByText("1–10 replicas · CPU 70 % · down 300 s")).toBeInTheDocument();
    expect(screen.getByLabelText("Min replicas")).toHaveValue("1");
    expect(screen.getByLabelText("CPU target (%)")).toHaveValue("70");
    expect(screen.queryByLabelText("Idle timeout (s)")).not.toBeInTheDocument();

    await user.click(screen.getByRole("radio", { name: "Responsive" }));
    expect(screen.getByLabelText("Min replicas")).toHaveValue("2");
    expect(screen.getByLabelText("Max replicas")).toHaveValue("10");
    expect(screen.getByLabelText("CPU target (%)")).toHaveValue("60");
    expect(screen.getByLabelText("In-flight target")).toHaveValue("50");
    expect(screen.getByLabelText("Step")).toHaveValue("2");
    expect(screen.getByLabelText("Scale-down cooldown (s)")).toHaveValue("240");

    await user.click(screen.getByRole("radio", { name: "Scale to zero" }));
    expect(screen.getByLabelText("Min replicas")).toHaveValue("0");
    expect(screen.getByLabelText("CPU target (%)")).toHaveValue("");
    expect(screen.getByLabelText("In-flight target")).toHaveValue("20");
    expect(screen.getByLabelText("Idle timeout (s)")).toHaveValue("900");
  });

  it("saves the policy with the autoscale mask; a preset's max is left to the quota", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return deployment(req.autoscale && { ...req.autoscale, maxReplicas: 10 });
    });
    const user = userEvent.setup();
    await user.click(screen.getByRole("switch", { name: "Autoscaling" }));
    await user.click(screen.getByRole("radio", { name: "Performance" }));
    await user.clear(screen.getByLabelText("Requests/s target"));
    await user.type(screen.getByLabelText("Requests/s target"), "12.5");
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));

    await screen.findByText("Autoscaling saved.");
    expect(sent).toHaveLength(1);
    const req = sent[0];
    expect(req?.id).toBe(ID);
    expect(req?.updateMask?.paths).toEqual(["autoscale"]);
    const p = req?.autoscale;
    expect(p?.template).toBe("performance");
    expect(p?.minReplicas).toBe(2);
    expect(p?.maxReplicas).toBe(0); // 25, the template's: the server bounds it by the quota
    expect(p?.targetCpuPercent).toBe(50);
    expect(p?.targetP95LatencyMs).toBe(200);
    expect(p?.targetRps).toBe(12.5);
    expect(p?.step).toBe(3);
    expect(p?.scaleDownCooldown?.seconds).toBe(180n);
    expect(p?.idleTimeout).toBeUndefined();
    // The stored policy comes back and is shown.
    expect(screen.getByLabelText("Max replicas")).toHaveValue("10");
    expect(screen.getByRole("button", { name: "Save autoscaling" })).toBeDisabled();
  });

  it("sends an edited max and the idle timeout of a policy that sleeps", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return deployment(req.autoscale);
    });
    const user = userEvent.setup();
    await user.click(screen.getByRole("switch", { name: "Autoscaling" }));
    await user.click(screen.getByRole("radio", { name: "Custom" }));
    await user.clear(screen.getByLabelText("Min replicas"));
    await user.type(screen.getByLabelText("Min replicas"), "0");
    await user.clear(screen.getByLabelText("Max replicas"));
    await user.type(screen.getByLabelText("Max replicas"), "4");
    await user.type(screen.getByLabelText("Idle timeout (s)"), "120");
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));

    await screen.findByText("Autoscaling saved.");
    const p = sent[0]?.autoscale;
    expect(p?.template).toBe("");
    expect(p?.minReplicas).toBe(0);
    expect(p?.maxReplicas).toBe(4);
    expect(p?.targetCpuPercent).toBe(70); // kept from the preset shown before Custom
    expect(p?.idleTimeout?.seconds).toBe(120n);
  });

  it("turning it off sends the autoscale mask without a policy", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return deployment();
    }, deployment(stored));
    const user = userEvent.setup();
    const toggle = screen.getByRole("switch", { name: "Autoscaling" });
    expect(toggle).toBeChecked();
    expect(screen.getByRole("radio", { name: "Balanced" })).toBeChecked();
    expect(screen.getByLabelText("Scale-down cooldown (s)")).toHaveValue("300");

    await user.click(toggle);
    expect(screen.getByTestId("autoscale-fixed")).toHaveTextContent("keeps the current count");
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));

    await screen.findByText("Autoscaling saved.");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.updateMask?.paths).toEqual(["autoscale"]);
    expect(sent[0]?.autoscale).toBeUndefined();
  });

  it("names a malformed field without calling the server", async () => {
    const sent: UpdateDeploymentRequest[] = [];
    renderPanel((req) => {
      sent.push(req);
      return deployment();
    }, deployment(stored));
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("CPU target (%)"));
    await user.type(screen.getByLabelText("CPU target (%)"), "150");
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));
    expect(await screen.findByText("Enter a whole percent from 1 to 100, or leave it empty for none.")).toHaveAttribute(
      "id",
      "autoscale-targetCpuPercent-error",
    );
    expect(screen.getByLabelText("CPU target (%)")).toHaveAttribute("aria-invalid", "true");
    expect(sent).toHaveLength(0);
  });

  it("puts the server's violations beside the fields they name, quota ones included", async () => {
    let fail = failure(Code.InvalidArgument, "autoscale.min_replicas", "min_replicas (5) must not be above max_replicas (3)");
    renderPanel(() => {
      throw fail;
    }, deployment(stored));
    const user = userEvent.setup();
    await user.clear(screen.getByLabelText("Min replicas"));
    await user.type(screen.getByLabelText("Min replicas"), "5");
    await user.clear(screen.getByLabelText("Max replicas"));
    await user.type(screen.getByLabelText("Max replicas"), "3");
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));
    expect(await screen.findByText("min_replicas (5) must not be above max_replicas (3)")).toHaveAttribute("id", "autoscale-minReplicas-error");
    expect(screen.getByLabelText("Min replicas")).toHaveAttribute("aria-invalid", "true");

    fail = failure(Code.ResourceExhausted, "autoscale.max_replicas", "max_replicas 30 is over the quota of 10 replicas per deployment");
    await user.clear(screen.getByLabelText("Max replicas"));
    await user.type(screen.getByLabelText("Max replicas"), "30");
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));
    expect(await screen.findByText("max_replicas 30 is over the quota of 10 replicas per deployment")).toHaveAttribute(
      "id",
      "autoscale-maxReplicas-error",
    );
    expect(screen.queryByText("min_replicas (5) must not be above max_replicas (3)")).not.toBeInTheDocument();

    fail = failure(Code.InvalidArgument, "autoscale.template", 'unknown template "x"');
    await user.click(screen.getByRole("button", { name: "Save autoscaling" }));
    expect(await screen.findByText('autoscale.template: unknown template "x"')).toBeInTheDocument();
  });
});
