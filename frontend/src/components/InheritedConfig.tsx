import { useQuery } from "@connectrpc/connect-query";
import { Link } from "react-router";
import { ErrorState } from "@/components/ErrorState";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfigService } from "@/gen/coderunner/v1/config_pb";
import type { Deployment } from "@/gen/coderunner/v1/deployment_pb";
import { ProjectService } from "@/gen/coderunner/v1/project_pb";

/** InheritedName is one name a deployment gets from its project. */
export interface InheritedName {
  name: string;
  kind: "variable" | "secret";
  /** The deployment's own variable or secret of this name wins. */
  overridden: boolean;
}

/**
 * inheritedNames lists what a project passes down, by name: its variables
 * and its secrets, each marked overridden when the deployment has its own
 * variable or secret of that name (the server layers project variables,
 * project secrets, then the deployment's variables and secrets, the last
 * winning).
 */
export function inheritedNames(
  projectEnv: Record<string, string>,
  projectSecrets: readonly string[],
  ownEnv: Record<string, string>,
  ownSecrets: readonly string[],
): InheritedName[] {
  const own = new Set([...Object.keys(ownEnv), ...ownSecrets]);
  const secrets = new Set(projectSecrets);
  const out: InheritedName[] = [];
  // A project secret hides a project variable of the same name.
  for (const name of Object.keys(projectEnv)) {
    if (!secrets.has(name)) out.push({ name, kind: "variable", overridden: own.has(name) });
  }
  for (const name of secrets) out.push({ name, kind: "secret", overridden: own.has(name) });
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * InheritedConfig shows, read-only, the names of the variables and
 * secrets a deployment inherits from its project (never a value), and
 * links to the project's settings where they are changed.
 */
export function InheritedConfig({ deployment: d }: { deployment: Deployment }) {
  const enabled = d.projectId !== "";
  const project = useQuery(ProjectService.method.getProject, { id: d.projectId }, { enabled });
  const shared = useQuery(ConfigService.method.listSecrets, { scope: { case: "projectId", value: d.projectId } }, { enabled });
  // The same query as the deployment's Secrets panel: one request, one cache entry.
  const own = useQuery(ConfigService.method.listSecrets, { scope: { case: "deploymentId", value: d.id } }, { enabled });
  if (!enabled) return null;
  const p = project.data?.project;
  const error = project.error ?? shared.error ?? own.error;
  const names =
    p && shared.data && own.data
      ? inheritedNames(
          p.env,
          shared.data.secrets.map((s) => s.name),
          d.env,
          own.data.secrets.map((s) => s.name),
        )
      : undefined;

  return (
    <Card>
      <CardHeader>
        <CardTitle>Inherited from the project</CardTitle>
        <CardDescription>
          Shared variables and secrets of{" "}
          {p ? (
            <Link to={`/projects/${p.id}`} className="font-medium text-primary underline-offset-4 hover:underline">
              project {p.name}
            </Link>
          ) : (
            "the project"
          )}
          , changed in its settings. The deployment&apos;s own variable or secret of the same name wins.
        </CardDescription>
      </CardHeader>
      <CardContent>
        {error ? (
          <ErrorState title="Could not load what the project shares" error={error} />
        ) : !names ? (
          <p className="text-sm text-muted-foreground">Loading…</p>
        ) : names.length === 0 ? (
          <p className="text-sm text-muted-foreground">The project shares no variables or secrets.</p>
        ) : (
          <ul className="flex flex-wrap gap-2" aria-label="Inherited from the project">
            {names.map((n) => (
              <li key={n.name} data-inherited={n.name} data-overridden={n.overridden || undefined}>
                <Badge tone={n.overridden ? "neutral" : "info"} title={n.overridden ? "This deployment sets its own value" : undefined}>
                  <code className={n.overridden ? "line-through" : undefined}>{n.name}</code>
                  {n.kind === "secret" && <span>secret</span>}
                  {n.overridden && <span>overridden</span>}
                </Badge>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}
