import { useMutation } from "@connectrpc/connect-query";
import { Save } from "lucide-react";
import { useState } from "react";
import { AutoscalePresetPicker } from "@/components/AutoscalePresetPicker";
import { FieldError } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { type Deployment, DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import {
  type AutoscaleField,
  type AutoscaleText,
  DEFAULT_TEMPLATE,
  type TemplateName,
  autoscaleFieldOf,
  parseAutoscale,
  policyText,
  sameText,
  sleeps,
  templateOf,
} from "@/lib/autoscale";
import { useDraft } from "@/lib/draft";
import { describeError, violationsOf } from "@/lib/errors";

/** AutoscaleForm is the card's whole state: fixed or autoscaled, the preset, the fields. */
interface AutoscaleForm {
  enabled: boolean;
  template: TemplateName;
  text: AutoscaleText;
}

type FieldMessages = Partial<Record<AutoscaleField, string[]>>;

function formOf(d: Deployment): AutoscaleForm {
  const p = d.autoscale;
  if (p) return { enabled: true, template: templateOf(p.template)?.name ?? "", text: policyText(p) };
  // Off: switching on starts from the default preset.
  return { enabled: false, template: DEFAULT_TEMPLATE.name, text: DEFAULT_TEMPLATE.values };
}

function sameForm(a: AutoscaleForm, b: AutoscaleForm): boolean {
  if (a.enabled !== b.enabled) return false;
  // Off, the fields are not sent: they do not make the form dirty.
  return !a.enabled || (a.template === b.template && sameText(a.text, b.text));
}

interface FieldSpec {
  id: AutoscaleField;
  label: string;
  hint: string;
}

const REPLICA_FIELDS: FieldSpec[] = [
  { id: "minReplicas", label: "Min replicas", hint: "0 lets it sleep when idle" },
  { id: "maxReplicas", label: "Max replicas", hint: "at most the replica quota" },
  { id: "step", label: "Step", hint: "replicas added or removed at once, 1 to 10" },
];

const TARGET_FIELDS: FieldSpec[] = [
  { id: "targetCpuPercent", label: "CPU target (%)", hint: "of each replica's CPU limit" },
  { id: "targetInflight", label: "In-flight target", hint: "requests in flight per replica" },
  { id: "targetRps", label: "Requests/s target", hint: "per replica" },
  { id: "targetP95LatencyMs", label: "p95 latency target (ms)", hint: "95th percentile response time" },
];

const TIME_FIELDS: FieldSpec[] = [
  { id: "scaleUpCooldownSeconds", label: "Scale-up cooldown (s)", hint: "least time between two scale-ups" },
  { id: "scaleDownCooldownSeconds", label: "Scale-down cooldown (s)", hint: "least time from a change to a scale-down" },
];

const IDLE_FIELD: FieldSpec = { id: "idleTimeoutSeconds", label: "Idle timeout (s)", hint: "sleeps after this long without a request; at least 30" };

/**
 * AutoscalePanel switches a deployment between a fixed replica count and
 * an autoscaling policy: a preset, and the policy's fields. Saving sends
 * UpdateDeployment with update_mask ["autoscale"]; turning it off sends
 * the mask with no policy, which keeps the current count.
 */
export function AutoscalePanel({ deployment: d, onChanged }: { deployment: Deployment; onChanged: (d: Deployment | undefined) => void }) {
  const current = formOf(d);
  // A change from elsewhere (another tab, the CLI) shows up unless edited here.
  const [form, setForm] = useDraft(current, sameForm);
  const [fieldErrors, setFieldErrors] = useState<FieldMessages>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const update = useMutation(DeploymentService.method.updateDeployment);
  const dirty = !sameForm(form, current);
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  const showIdle = sleeps(form.text, form.template);

  const change = (next: AutoscaleForm) => {
    setForm(next);
    setSaved(false);
  };
  const edit = (field: AutoscaleField) => (e: React.ChangeEvent<HTMLInputElement>) =>
    change({ ...form, text: { ...form.text, [field]: e.target.value } });
  const pick = (template: TemplateName) => {
    const t = templateOf(template);
    // A preset fills every field with its numbers; Custom keeps them to edit.
    change({ ...form, template, text: t ? t.values : form.text });
    setFieldErrors({});
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaved(false);
    setGeneral([]);
    let policy;
    if (form.enabled) {
      const parsed = parseAutoscale(form.text, form.template);
      if ("errors" in parsed) {
        setFieldErrors(Object.fromEntries(Object.entries(parsed.errors).map(([k, v]) => [k, [v]])));
        return;
      }
      policy = parsed.policy;
    }
    setFieldErrors({});
    try {
      const res = await update.mutateAsync({ id: d.id, autoscale: policy, updateMask: { paths: ["autoscale"] } });
      onChanged(res.deployment);
      // The server resolves the policy (a preset's max bounded by the quota): show what it stored.
      if (res.deployment) setForm(formOf(res.deployment));
      setSaved(true);
    } catch (err) {
      const violations = violationsOf(err);
      const fields: FieldMessages = {};
      const rest: string[] = [];
      for (const v of violations) {
        const f = autoscaleFieldOf(v.path);
        // A violation of a field not shown (the idle timeout above min 0) goes below.
        if (form.enabled && f && (f !== "idleTimeoutSeconds" || showIdle)) fields[f] = [...(fields[f] ?? []), v.message];
        else rest.push(v.path ? `${v.path}: ${v.message}` : v.message);
      }
      setFieldErrors(fields);
      setGeneral(violations.length === 0 ? [describeError(err)] : rest);
    }
  };

  const field = ({ id, label, hint }: FieldSpec) => (
    <div className="grid gap-1.5" key={id}>
      <Label htmlFor={`autoscale-${id}`}>{label}</Label>
      <Input
        id={`autoscale-${id}`}
        inputMode={id === "targetRps" ? "decimal" : "numeric"}
        value={form.text[id]}
        placeholder={TARGET_FIELDS.some((t) => t.id === id) ? "none" : "default"}
        onChange={edit(id)}
        disabled={destroyed}
        aria-invalid={Boolean(fieldErrors[id]?.length) || undefined}
        aria-describedby={`autoscale-${id}-hint autoscale-${id}-error`}
      />
      <p id={`autoscale-${id}-hint`} className="text-xs text-muted-foreground">
        {hint}
      </p>
      <FieldError id={`autoscale-${id}-error`} messages={fieldErrors[id]} />
    </div>
  );

  return (
    <Card data-testid="autoscale-card">
      <CardHeader>
        <CardTitle>Autoscaling</CardTitle>
        <CardDescription>
          With autoscaling, CodeRunner sets the replica count from load every 5 s, within min and max, and records each change as an event. Changes
          scale in place, without a restart.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={(e) => void save(e)} className="grid gap-4" noValidate>
          <label className="flex w-fit cursor-pointer items-center gap-3 text-sm font-medium">
            <input
              type="checkbox"
              role="switch"
              className="peer sr-only"
              checked={form.enabled}
              disabled={destroyed}
              onChange={(e) => change({ ...form, enabled: e.target.checked })}
            />
            <span
              aria-hidden
              className="relative h-5 w-9 rounded-full bg-muted ring-1 ring-border transition-colors peer-checked:bg-primary peer-focus-visible:outline-2 peer-focus-visible:outline-ring after:absolute after:top-0.5 after:left-0.5 after:size-4 after:rounded-full after:bg-background after:shadow after:transition-transform peer-checked:after:translate-x-4"
            />
            Autoscaling
          </label>
          {!form.enabled ? (
            <p className="text-sm text-muted-foreground" data-testid="autoscale-fixed">
              Fixed at {d.replicas || 1} {d.replicas === 1 ? "replica" : "replicas"}; set the count under Scale and resources.
              {d.autoscale && " Saving turns autoscaling off and keeps the current count."}
            </p>
          ) : (
            <>
              <AutoscalePresetPicker value={form.template} onChange={pick} disabled={destroyed} />
              <div className="grid gap-3 sm:grid-cols-3">{REPLICA_FIELDS.map(field)}</div>
              <div className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">{TARGET_FIELDS.map(field)}</div>
              <p className="-mt-2 text-xs text-muted-foreground">The largest count any target asks for wins; give at least one target, or a preset.</p>
              <div className="grid gap-3 sm:grid-cols-3">
                {TIME_FIELDS.map(field)}
                {showIdle && field(IDLE_FIELD)}
              </div>
            </>
          )}
          {general.length > 0 && <Alert>{general.join("\n")}</Alert>}
          <div className="flex items-center gap-3">
            <Button type="submit" disabled={!dirty || update.isPending || destroyed}>
              <Save /> {update.isPending ? "Saving…" : "Save autoscaling"}
            </Button>
            {saved && !dirty && (
              <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
                Autoscaling saved.
              </span>
            )}
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
