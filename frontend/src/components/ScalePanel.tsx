import { useMutation } from "@connectrpc/connect-query";
import { Save } from "lucide-react";
import { useState } from "react";
import { FieldError } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { type Deployment, DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { useDraft } from "@/lib/draft";
import { describeError, violationsOf } from "@/lib/errors";
import { MAX_REPLICAS, type ScaleText, parseScale, scaleText } from "@/lib/scale";

type FieldMessages = Partial<Record<keyof ScaleText, string[]>>;

/** fieldOf names the form field a violation's path belongs to, if any. */
function fieldOf(path: string): keyof ScaleText | undefined {
  if (path === "replicas") return "replicas";
  if (path === "limits.cpu_millicores") return "cpuCores";
  if (path === "limits.memory_bytes") return "memoryMib";
  return undefined;
}

/** violationFields puts the server's field violations beside their fields. */
function violationFields(err: unknown): FieldMessages {
  const out: FieldMessages = {};
  for (const v of violationsOf(err)) {
    const f = fieldOf(v.path);
    if (f) out[f] = [...(out[f] ?? []), v.message];
  }
  return out;
}

function sameScale(a: ScaleText, b: ScaleText): boolean {
  return a.replicas === b.replicas && a.cpuCores === b.cpuCores && a.memoryMib === b.memoryMib;
}

/** ScalePanel: the number of instances and each one's CPU and memory limits. */
export function ScalePanel({ deployment: d, onChanged }: { deployment: Deployment; onChanged: (d: Deployment | undefined) => void }) {
  const current = scaleText(d.replicas, d.limits?.cpuMillicores, d.limits?.memoryBytes);
  // A change from elsewhere (another tab, the CLI) shows up unless edited here.
  const [text, setText] = useDraft(current, sameScale);
  const [fieldErrors, setFieldErrors] = useState<FieldMessages>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [saved, setSaved] = useState(false);
  const update = useMutation(DeploymentService.method.updateDeployment);
  const dirty = !sameScale(text, current);
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  // Under a policy the server sets replicas and refuses a count: only the limits are sent.
  const autoscaled = Boolean(d.autoscale);

  const edit = (field: keyof ScaleText) => (e: React.ChangeEvent<HTMLInputElement>) => {
    setText({ ...text, [field]: e.target.value });
    setSaved(false);
  };

  const save = async (e: React.FormEvent) => {
    e.preventDefault();
    setSaved(false);
    setGeneral([]);
    const parsed = parseScale(text);
    if ("errors" in parsed) {
      setFieldErrors(Object.fromEntries(Object.entries(parsed.errors).map(([k, v]) => [k, [v]])));
      return;
    }
    setFieldErrors({});
    const { replicas, cpuMillicores, memoryBytes } = parsed.values;
    try {
      const res = await update.mutateAsync({
        id: d.id,
        replicas: autoscaled ? 0 : replicas,
        limits: { cpuMillicores, memoryBytes },
        updateMask: { paths: autoscaled ? ["limits"] : ["replicas", "limits"] },
      });
      onChanged(res.deployment);
      setSaved(true);
    } catch (err) {
      setFieldErrors(violationFields(err));
      const violations = violationsOf(err);
      setGeneral(violations.length === 0 ? [describeError(err)] : violations.filter((v) => !fieldOf(v.path)).map((v) => v.message));
    }
  };

  const field = (id: keyof ScaleText, label: string, hint: string, placeholder?: string, locked = false) => (
    <div className="grid gap-1.5">
      <Label htmlFor={`scale-${id}`}>{label}</Label>
      <Input
        id={`scale-${id}`}
        inputMode="decimal"
        value={text[id]}
        placeholder={placeholder}
        onChange={edit(id)}
        disabled={destroyed || locked}
        aria-invalid={Boolean(fieldErrors[id]?.length) || undefined}
        aria-describedby={`scale-${id}-hint scale-${id}-error`}
      />
      <p id={`scale-${id}-hint`} className="text-xs text-muted-foreground">
        {hint}
      </p>
      <FieldError id={`scale-${id}-error`} messages={fieldErrors[id]} />
    </div>
  );

  return (
    <Card>
      <CardHeader>
        <CardTitle>Scale and resources</CardTitle>
        <CardDescription>
          Replicas share the app's URL; each gets these limits. Saving restarts a running deployment to apply them; it keeps serving meanwhile.
        </CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={(e) => void save(e)} className="grid gap-3" noValidate>
          <div className="grid gap-3 sm:grid-cols-3">
            {autoscaled
              ? field("replicas", "Replicas", `set by autoscaling, ${d.autoscale?.minReplicas ?? 1} to ${d.autoscale?.maxReplicas ?? MAX_REPLICAS}`, undefined, true)
              : field("replicas", "Replicas", `instances, 1 to ${MAX_REPLICAS}`)}
            {field("cpuCores", "CPU (cores)", "per instance; 0.5 is half a core", "default")}
            {field("memoryMib", "Memory (MiB)", "per instance", "default")}
          </div>
          {general.length > 0 && <Alert>{general.join("\n")}</Alert>}
          <div className="flex items-center gap-3">
            <Button type="submit" disabled={!dirty || update.isPending || destroyed}>
              <Save /> {update.isPending ? "Saving…" : "Save scale"}
            </Button>
            {saved && !dirty && (
              <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
                Scale saved.
              </span>
            )}
          </div>
        </form>
      </CardContent>
    </Card>
  );
}
