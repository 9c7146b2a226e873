import { create } from "@bufbuild/protobuf";
import { createConnectQueryKey, useQuery, useTransport } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { ArrowLeft } from "lucide-react";
import { Link, useParams } from "react-router";
import { ErrorState } from "@/components/ErrorState";
import { ProjectEnvPanel } from "@/components/ProjectEnvPanel";
import { SecretsPanel } from "@/components/SecretsPanel";
import { Badge } from "@/components/ui/badge";
import { Skeleton } from "@/components/ui/spinner";
import { GetProjectResponseSchema, type Project, ProjectService } from "@/gen/coderunner/v1/project_pb";

/**
 * ProjectSettingsPage edits what every deployment of a project inherits:
 * its shared variables and its secrets.
 */
export function ProjectSettingsPage() {
  const { id = "" } = useParams();
  const transport = useTransport();
  const queryClient = useQueryClient();
  const q = useQuery(ProjectService.method.getProject, { id });
  const p = q.data?.project;

  // The saved project is shown at once, before the refetch that follows.
  const onChanged = (next: Project | undefined) => {
    if (!next) return;
    const key = createConnectQueryKey({ schema: ProjectService.method.getProject, input: { id }, transport, cardinality: "finite" });
    queryClient.setQueryData(key, create(GetProjectResponseSchema, { project: next }));
  };

  const back = (
    <Link to="/projects" className="inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
      <ArrowLeft className="size-4" /> Projects
    </Link>
  );
  if (q.isPending) {
    return (
      <div className="grid gap-4" aria-busy="true">
        {back}
        <Skeleton className="h-8 w-60" />
        <Skeleton className="h-60" />
      </div>
    );
  }
  if (!p) {
    return (
      <div className="grid gap-4">
        {back}
        <ErrorState title="Could not load this project" error={q.error} onRetry={() => void q.refetch()} />
      </div>
    );
  }
  const count = p.deploymentCount;
  return (
    <div className="grid gap-5">
      {back}
      <div className="grid gap-1">
        <div className="flex flex-wrap items-center gap-2">
          <h1 className="text-2xl font-semibold">{p.name}</h1>
          {p.isDefault && <Badge>Default</Badge>}
        </div>
        <p className="text-sm text-muted-foreground">
          Shared configuration for the project&apos;s {count === 1 ? "1 deployment" : `${count} deployments`}.
        </p>
      </div>
      <ProjectEnvPanel project={p} onChanged={onChanged} />
      <SecretsPanel project={p} />
    </div>
  );
}
