import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { Save } from "lucide-react";
import { useState } from "react";
import { EnvEditor, envToRows, rowsToEnv, sameEnv, sameRows } from "@/components/EnvEditor";
import { FieldError } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { type Project, ProjectService } from "@/gen/coderunner/v1/project_pb";
import { useDraft } from "@/lib/draft";
import { type FormErrors, formErrors } from "@/lib/errors";

const noErrors: FormErrors = { fields: {}, general: [] };

/**
 * ProjectEnvPanel edits the variables every deployment of a project
 * inherits. Saving replaces the whole map (UpdateProject, mask "env").
 */
export function ProjectEnvPanel({ project: p, onChanged }: { project: Project; onChanged: (p: Project | undefined) => void }) {
  const queryClient = useQueryClient();
  // Another tab or the CLI changed them: follow unless edited here.
  const [rows, setRows] = useDraft(envToRows(p.env), sameRows);
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [saved, setSaved] = useState(false);
  const update = useMutation(ProjectService.method.updateProject);
  const dirty = !sameEnv(rowsToEnv(rows), p.env);

  const save = async () => {
    setErrors(noErrors);
    setSaved(false);
    try {
      const res = await update.mutateAsync({ id: p.id, env: rowsToEnv(rows), updateMask: { paths: ["env"] } });
      onChanged(res.project);
      setSaved(true);
      // Every deployment of the project got a release and may be restarting.
      void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
    } catch (err) {
      // A deployment being deployed makes it failed_precondition, whose
      // message names it; a bad name is a violation of env["…"].
      setErrors(formErrors(err, ["env"]));
    }
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>Shared variables</CardTitle>
        <CardDescription id="project-env-help">
          Every deployment of this project inherits these; a deployment&apos;s own variable or secret of the same name wins. Saving restarts the
          project&apos;s running deployments, which keep serving meanwhile.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <EnvEditor
          rows={rows}
          onChange={(r) => {
            setRows(r);
            setSaved(false);
          }}
        />
        <FieldError id="project-env-error" messages={errors.fields.env} />
        {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
        <div className="flex items-center gap-3">
          <Button onClick={() => void save()} disabled={!dirty || update.isPending}>
            <Save /> {update.isPending ? "Saving…" : "Save shared variables"}
          </Button>
          {saved && !dirty && (
            <span role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
              Saved; the project&apos;s running deployments restart with them.
            </span>
          )}
        </div>
      </CardContent>
    </Card>
  );
}
