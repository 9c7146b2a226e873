// The autoscaling form's text fields and the AutoscalePolicy behind them.
// The five templates' numbers mirror autoscale.proto's comment on template
// (and server/autoscale/templates.go); the server resolves a policy's
// unset fields from its template, then from the defaults, so an empty
// field here means "the template's, or the default".

import { create } from "@bufbuild/protobuf";
import { type Duration, DurationSchema } from "@bufbuild/protobuf/wkt";
import { type AutoscalePolicy, AutoscalePolicySchema } from "@/gen/coderunner/v1/autoscale_pb";

/** AutoscaleText is what the form's fields hold, one string per field. */
export interface AutoscaleText {
  minReplicas: string;
  maxReplicas: string;
  targetCpuPercent: string;
  targetInflight: string;
  targetRps: string;
  targetP95LatencyMs: string;
  scaleUpCooldownSeconds: string;
  scaleDownCooldownSeconds: string;
  step: string;
  idleTimeoutSeconds: string;
}

export type AutoscaleField = keyof AutoscaleText;

/** TemplateName is one of the server's presets; "" is none (custom). */
export type TemplateName = "" | "cost_optimized" | "balanced" | "scale_to_zero" | "responsive" | "performance";

/** AutoscaleTemplate is a preset: its name, its words and its numbers. */
export interface AutoscaleTemplate {
  name: Exclude<TemplateName, "">;
  label: string;
  summary: string;
  /** The template's values; a field it leaves out is the default. */
  values: AutoscaleText;
}

function values(v: Partial<AutoscaleText>): AutoscaleText {
  return {
    minReplicas: "1",
    maxReplicas: "10",
    targetCpuPercent: "",
    targetInflight: "",
    targetRps: "",
    targetP95LatencyMs: "",
    scaleUpCooldownSeconds: "0",
    scaleDownCooldownSeconds: "300",
    step: "1",
    idleTimeoutSeconds: "",
    ...v,
  };
}

const BALANCED: AutoscaleTemplate = {
  name: "balanced",
  label: "Balanced",
  summary: "The defaults.",
  values: values({ targetCpuPercent: "70" }),
};

/** TEMPLATES are the server's presets, in the order the picker shows them. */
export const TEMPLATES: readonly AutoscaleTemplate[] = [
  {
    name: "cost_optimized",
    label: "Cost optimized",
    summary: "Fewest replicas: scale up late, down slowly.",
    values: values({ maxReplicas: "3", targetCpuPercent: "80", scaleUpCooldownSeconds: "60", scaleDownCooldownSeconds: "900" }),
  },
  BALANCED,
  {
    name: "scale_to_zero",
    label: "Scale to zero",
    summary: "Sleeps after 15 min without a request, wakes on the next.",
    values: values({ minReplicas: "0", maxReplicas: "5", targetInflight: "20", idleTimeoutSeconds: "900" }),
  },
  {
    name: "responsive",
    label: "Responsive",
    summary: "Two replicas always, two at a time.",
    values: values({ minReplicas: "2", targetCpuPercent: "60", targetInflight: "50", step: "2", scaleDownCooldownSeconds: "240" }),
  },
  {
    name: "performance",
    label: "Performance",
    summary: "Headroom first; up to 25, bounded by the replica quota.",
    values: values({ minReplicas: "2", maxReplicas: "25", targetCpuPercent: "50", targetP95LatencyMs: "200", step: "3", scaleDownCooldownSeconds: "180" }),
  },
];

export function templateOf(name: string): AutoscaleTemplate | undefined {
  return TEMPLATES.find((t) => t.name === name);
}

/** templateNumbers says a template's numbers in a line, e.g. "1–10 replicas · CPU 70 % · down 300 s". */
export function templateNumbers(t: AutoscaleTemplate): string {
  const v = t.values;
  const parts = [`${v.minReplicas}–${v.maxReplicas} replicas`];
  if (v.targetCpuPercent) parts.push(`CPU ${v.targetCpuPercent} %`);
  if (v.targetInflight) parts.push(`${v.targetInflight} in flight`);
  if (v.targetRps) parts.push(`${v.targetRps} rps`);
  if (v.targetP95LatencyMs) parts.push(`p95 ${v.targetP95LatencyMs} ms`);
  if (v.step !== "1") parts.push(`step ${v.step}`);
  if (v.scaleUpCooldownSeconds !== "0") parts.push(`up ${v.scaleUpCooldownSeconds} s`);
  parts.push(`down ${v.scaleDownCooldownSeconds} s`);
  if (v.idleTimeoutSeconds) parts.push(`sleeps after ${Number(v.idleTimeoutSeconds) / 60} min`);
  return parts.join(" · ");
}

/** DEFAULT_TEMPLATE is the preset a deployment without a policy starts from when autoscaling is turned on. */
export const DEFAULT_TEMPLATE = BALANCED;

function seconds(d: Duration | undefined): string {
  if (!d) return "0";
  return String(Number(d.seconds) + d.nanos / 1e9);
}

const shown = (n: number) => (n ? String(n) : "");

/** policyText shows a stored (resolved) policy in the form. */
export function policyText(p: AutoscalePolicy): AutoscaleText {
  const min = p.minReplicas ?? 1;
  return {
    minReplicas: String(min),
    maxReplicas: shown(p.maxReplicas),
    targetCpuPercent: shown(p.targetCpuPercent),
    targetInflight: shown(p.targetInflight),
    targetRps: shown(p.targetRps),
    targetP95LatencyMs: shown(p.targetP95LatencyMs),
    scaleUpCooldownSeconds: seconds(p.scaleUpCooldown),
    scaleDownCooldownSeconds: seconds(p.scaleDownCooldown),
    step: shown(p.step),
    idleTimeoutSeconds: min === 0 && p.idleTimeout ? seconds(p.idleTimeout) : "",
  };
}

/** sleeps: the form's min is 0, so the idle timeout applies. */
export function sleeps(text: AutoscaleText, template: TemplateName): boolean {
  const min = text.minReplicas.trim() || templateOf(template)?.values.minReplicas || "1";
  return Number(min) === 0;
}

interface Bound {
  max: number;
  decimal?: boolean;
  message: string;
}

// The schema's bounds (autoscale.proto), checked here to name the field
// before a round trip; the server checks them and the rules across fields.
const BOUNDS: Record<AutoscaleField, Bound> = {
  minReplicas: { max: 100, message: "Enter a whole number of replicas, 0 or more." },
  maxReplicas: { max: 100, message: "Enter a whole number of replicas, 1 or more." },
  targetCpuPercent: { max: 100, message: "Enter a whole percent from 1 to 100, or leave it empty for none." },
  targetInflight: { max: 100000, message: "Enter a whole number of requests, or leave it empty for none." },
  targetRps: { max: 1000000, decimal: true, message: "Enter requests per second, or leave it empty for none." },
  targetP95LatencyMs: { max: 600000, message: "Enter whole milliseconds, or leave it empty for none." },
  scaleUpCooldownSeconds: { max: 86400, message: "Enter whole seconds from 0 to 86400." },
  scaleDownCooldownSeconds: { max: 86400, message: "Enter whole seconds from 0 to 86400." },
  step: { max: 10, message: "Enter a whole number from 1 to 10." },
  idleTimeoutSeconds: { max: 2592000, message: "Enter whole seconds, at least 30." },
};

function duration(s: number | undefined): Duration | undefined {
  return s === undefined ? undefined : create(DurationSchema, { seconds: BigInt(s) });
}

/**
 * parseAutoscale checks the form and builds the policy to send: either
 * the policy or a message for each field that is wrong. Empty fields stay
 * unset (the template's or the default). A max equal to the template's is
 * left unset too, so the server bounds it by the replica quota as it does
 * for the template (performance asks for 25).
 */
export function parseAutoscale(
  text: AutoscaleText,
  template: TemplateName,
): { policy: AutoscalePolicy } | { errors: Partial<Record<AutoscaleField, string>> } {
  const errors: Partial<Record<AutoscaleField, string>> = {};
  const num = (field: AutoscaleField): number | undefined => {
    const raw = text[field].trim();
    if (raw === "") return undefined;
    const b = BOUNDS[field];
    const n = Number(raw);
    if (!(b.decimal ? /^\d*\.?\d+$/ : /^\d+$/).test(raw) || n > b.max) {
      errors[field] = b.message;
      return undefined;
    }
    return n;
  };
  const min = num("minReplicas");
  let max = num("maxReplicas");
  const step = num("step");
  if (step === 0) errors.step = BOUNDS.step.message;
  const idle = sleeps(text, template) ? num("idleTimeoutSeconds") : undefined;
  if (idle !== undefined && idle < 30) errors.idleTimeoutSeconds = BOUNDS.idleTimeoutSeconds.message;
  if (template !== "" && text.maxReplicas.trim() === templateOf(template)?.values.maxReplicas) max = undefined;
  const policy = create(AutoscalePolicySchema, {
    template,
    minReplicas: min,
    maxReplicas: max ?? 0,
    targetCpuPercent: num("targetCpuPercent") ?? 0,
    targetInflight: num("targetInflight") ?? 0,
    targetRps: num("targetRps") ?? 0,
    targetP95LatencyMs: num("targetP95LatencyMs") ?? 0,
    scaleUpCooldown: duration(num("scaleUpCooldownSeconds")),
    scaleDownCooldown: duration(num("scaleDownCooldownSeconds")),
    step: step ?? 0,
    idleTimeout: duration(idle),
  });
  if (Object.keys(errors).length > 0) return { errors };
  return { policy };
}

const VIOLATION_FIELDS: Record<string, AutoscaleField> = {
  "autoscale.min_replicas": "minReplicas",
  "autoscale.max_replicas": "maxReplicas",
  "autoscale.target_cpu_percent": "targetCpuPercent",
  "autoscale.target_inflight": "targetInflight",
  "autoscale.target_rps": "targetRps",
  "autoscale.target_p95_latency_ms": "targetP95LatencyMs",
  "autoscale.scale_up_cooldown": "scaleUpCooldownSeconds",
  "autoscale.scale_down_cooldown": "scaleDownCooldownSeconds",
  "autoscale.step": "step",
  "autoscale.idle_timeout": "idleTimeoutSeconds",
};

/** autoscaleFieldOf names the form field a violation's path belongs to, if any ("autoscale.template" has none: the picker). */
export function autoscaleFieldOf(path: string): AutoscaleField | undefined {
  return VIOLATION_FIELDS[path];
}

export function sameText(a: AutoscaleText, b: AutoscaleText): boolean {
  return (Object.keys(a) as AutoscaleField[]).every((k) => a[k] === b[k]);
}
