import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { Save, Trash2 } from "lucide-react";
import { useState } from "react";
import { AutoscalePanel } from "@/components/AutoscalePanel";
import { ConfirmButton } from "@/components/ConfirmButton";
import { EnvEditor, envToRows, rowsToEnv, sameEnv, sameRows } from "@/components/EnvEditor";
import { FieldError } from "@/components/ErrorState";
import { InheritedConfig } from "@/components/InheritedConfig";
import { RedeployPanel } from "@/components/RedeployPanel";
import { ScalePanel } from "@/components/ScalePanel";
import { SecretsPanel } from "@/components/SecretsPanel";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { type Deployment, DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { useDraft } from "@/lib/draft";
import { type FormErrors, describeError, formErrors } from "@/lib/errors";

/** SettingsPanel: environment variables, secrets, what the project shares, scale and resources, autoscaling, redeploy, delete. */
export function SettingsPanel({
  deployment: d,
  onChanged,
  onDeleted,
}: {
  deployment: Deployment;
  onChanged: (d: Deployment | undefined) => void;
  onDeleted: () => void;
}) {
  const queryClient = useQueryClient();
  // Another tab or a watch event changed the env: follow it unless edited here.
  const [rows, setRows] = useDraft(envToRows(d.env), sameRows);
  const [errors, setErrors] = useState<FormErrors>({ fields: {}, general: [] });
  const [saved, setSaved] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const update = useMutation(DeploymentService.method.updateDeployment);
  const del = useMutation(DeploymentService.method.deleteDeployment);
  const dirty = !sameEnv(rowsToEnv(rows), d.env);

  const save = async () => {
    setErrors({ fields: {}, general: [] });
    setSaved(false);
    try {
      const res = await update.mutateAsync({ id: d.id, env: rowsToEnv(rows), updateMask: { paths: ["env"] } });
      onChanged(res.deployment);
      setSaved(true);
    } catch (err) {
      setErrors(formErrors(err, ["env"]));
    }
  };

  const destroyed = d.status === DeploymentStatus.DESTROYED;

  return (
    <div className="grid gap-4">
      <Card>
        <CardHeader>
          <CardTitle>Environment variables</CardTitle>
          <CardDescription>Saving restarts a running deployment to apply them; it keeps serving meanwhile.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-3">
          <EnvEditor rows={rows} onChange={(r) => { setRows(r); setSaved(false); }} disabled={destroyed} />
          <FieldError id="env-error" messages={errors.fields.env} />
          {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
          <div className="flex items-center gap-3">
            <Button onClick={() => void save()} disabled={!dirty || update.isPending || destroyed}>
              <Save /> {update.isPending ? "Saving…" : "Save variables"}
            </Button>
            {saved && !dirty && (
              <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
                Saved.
              </span>
            )}
          </div>
        </CardContent>
      </Card>
      <SecretsPanel deployment={d} />
      <InheritedConfig deployment={d} />
      <ScalePanel deployment={d} onChanged={onChanged} />
      <AutoscalePanel deployment={d} onChanged={onChanged} />
      <RedeployPanel deployment={d} onChanged={onChanged} />
      <Card className="border-red-500/40">
        <CardHeader>
          <CardTitle>Delete deployment</CardTitle>
          <CardDescription>Stops it and removes its source, data and logs. This cannot be undone.</CardDescription>
        </CardHeader>
        <CardContent>
          <ConfirmButton
            variant="destructive"
            destructive
            disabled={del.isPending || destroyed}
            title={`Delete ${d.name}?`}
            description="This stops the deployment and removes its source, data and logs. It cannot be undone."
            confirmLabel="Delete"
            onConfirm={() =>
              del.mutate(
                { id: d.id },
                {
                  onSuccess: () => {
                    void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
                    onDeleted();
                  },
                  onError: (err) => setActionError(describeError(err)),
                },
              )
            }
          >
            <Trash2 /> Delete deployment
          </ConfirmButton>
        </CardContent>
      </Card>
      {actionError && <Alert>{actionError}</Alert>}
    </div>
  );
}
