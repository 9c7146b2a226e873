import { useMutation, useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { KeyRound, Trash2 } from "lucide-react";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorState, FieldError } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { ConfigService, type Secret } from "@/gen/coderunner/v1/config_pb";
import { type Deployment, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import type { Project } from "@/gen/coderunner/v1/project_pb";
import { type FormErrors, describeError, formErrors } from "@/lib/errors";
import { formatDateTime, timeAgo, toDate } from "@/lib/format";

const noErrors: FormErrors = { fields: {}, general: [] };

/** SecretsOwner is where the secrets live: one deployment, or a project whose deployments all inherit them. */
export type SecretsOwner = { deployment: Deployment; project?: never } | { project: Project; deployment?: never };

/** What a change does, said where it is made. */
const EFFECT = {
  deployment: {
    description:
      "Environment variables stored encrypted and never shown again; the logs show them as [secret:NAME]. Setting or deleting one restarts a running deployment.",
    onDelete: "A running deployment restarts without it. The value cannot be recovered.",
  },
  project: {
    description:
      "Stored encrypted, never shown again, masked as [secret:NAME] in the logs; every deployment of the project inherits them, and a deployment's own variable or secret of the same name wins. Setting or deleting one restarts the project's running deployments.",
    onDelete: "The project's running deployments restart without it (unless they have their own). The value cannot be recovered.",
  },
} as const;

function SecretRow({
  secret: s,
  disabled,
  deleteHelp,
  onDelete,
}: {
  secret: Secret;
  disabled: boolean;
  deleteHelp: string;
  onDelete: () => void;
}) {
  const when = toDate(s.updatedAt);
  return (
    <li className="flex flex-wrap items-center justify-between gap-3 py-2" data-secret={s.name}>
      <div className="grid min-w-0 gap-0.5">
        <code className="truncate text-sm font-medium">{s.name}</code>
        <p className="text-xs text-muted-foreground">
          version {s.version.toString()} · set{" "}
          <time dateTime={when?.toISOString()} title={formatDateTime(when)}>
            {timeAgo(when)}
          </time>
          {s.updatedBy && <> by {s.updatedBy}</>}
        </p>
      </div>
      <ConfirmButton
        variant="ghost"
        size="sm"
        destructive
        disabled={disabled}
        aria-label={`Delete secret ${s.name}`}
        title={`Delete secret ${s.name}?`}
        description={deleteHelp}
        confirmLabel="Delete"
        onConfirm={onDelete}
      >
        <Trash2 /> Delete
      </ConfirmButton>
    </li>
  );
}

/**
 * SecretsPanel lists the secrets of a deployment or of a project by name
 * and sets or deletes them. Values only ever go to the server: the value
 * input is uncontrolled (React would otherwise mirror it into the DOM's
 * value attribute) and is cleared once the server has it.
 */
export function SecretsPanel(owner: SecretsOwner) {
  const queryClient = useQueryClient();
  const scope = owner.deployment
    ? { case: "deploymentId" as const, value: owner.deployment.id }
    : { case: "projectId" as const, value: owner.project.id };
  const effect = owner.deployment ? EFFECT.deployment : EFFECT.project;
  const q = useQuery(ConfigService.method.listSecrets, { scope });
  const set = useMutation(ConfigService.method.setSecret);
  const del = useMutation(ConfigService.method.deleteSecret);
  const [name, setName] = useState("");
  const [errors, setErrors] = useState<FormErrors>(noErrors);
  const [done, setDone] = useState<string | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  // A project is never destroyed while shown: it is deleted, and gone.
  const destroyed = owner.deployment?.status === DeploymentStatus.DESTROYED;
  // A secret change is a release and a restart (of every running deployment
  // of a project): the list, the releases and the deployments all move.
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["connect-query"] });

  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = e.currentTarget;
    const value = new FormData(form).get("value");
    setErrors(noErrors);
    setDone(null);
    try {
      const res = await set.mutateAsync({ scope, name: name.trim(), value: typeof value === "string" ? value : "" });
      form.reset();
      setName("");
      const s = res.secret;
      setDone(s ? `Secret ${s.name} saved (version ${s.version.toString()}).` : "Secret saved.");
      refresh();
    } catch (err) {
      setErrors(formErrors(err, ["name", "value"]));
    }
  };

  const remove = (s: Secret) => {
    setDeleteError(null);
    setDone(null);
    del.mutate(
      { scope, name: s.name },
      {
        onSuccess: () => {
          setDone(`Secret ${s.name} deleted.`);
          refresh();
        },
        onError: (err) => setDeleteError(describeError(err)),
      },
    );
  };

  const secrets = q.data?.secrets ?? [];
  return (
    <Card>
      <CardHeader>
        <CardTitle>Secrets</CardTitle>
        <CardDescription>{effect.description}</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {q.isPending ? (
          <ListSkeleton rows={1} />
        ) : q.error ? (
          <ErrorState title="Could not load the secrets" error={q.error} onRetry={() => void q.refetch()} />
        ) : secrets.length === 0 ? (
          <p className="text-sm text-muted-foreground">No secrets.</p>
        ) : (
          <ul className="divide-y" aria-label="Secrets">
            {secrets.map((s) => (
              <SecretRow
                key={s.name}
                secret={s}
                disabled={del.isPending || destroyed}
                deleteHelp={effect.onDelete}
                onDelete={() => remove(s)}
              />
            ))}
          </ul>
        )}
        {deleteError && <Alert>{deleteError}</Alert>}
        <form onSubmit={(e) => void onSubmit(e)} noValidate className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_auto] sm:items-start">
          <div className="grid gap-1.5">
            <Label htmlFor="secret-name">Name</Label>
            <Input
              id="secret-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="API_KEY"
              autoComplete="off"
              spellCheck={false}
              className="font-mono"
              disabled={destroyed}
              aria-invalid={Boolean(errors.fields.name) || undefined}
              aria-describedby="secret-name-error"
            />
            <FieldError id="secret-name-error" messages={errors.fields.name} />
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="secret-value">Value</Label>
            <Input
              id="secret-value"
              name="value"
              type="password"
              autoComplete="new-password"
              disabled={destroyed}
              aria-invalid={Boolean(errors.fields.value) || undefined}
              aria-describedby="secret-value-help secret-value-error"
            />
            <p id="secret-value-help" className="text-xs text-muted-foreground">
              An existing secret of this name is replaced.
            </p>
            <FieldError id="secret-value-error" messages={errors.fields.value} />
          </div>
          <Button type="submit" className="sm:mt-5.5" disabled={set.isPending || destroyed || !name.trim()}>
            <KeyRound /> {set.isPending ? "Saving…" : "Set secret"}
          </Button>
        </form>
        {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
        {done && (
          <p role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
            {done}
          </p>
        )}
      </CardContent>
    </Card>
  );
}
