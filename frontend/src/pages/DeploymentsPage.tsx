import { useQuery } from "@connectrpc/connect-query";
import { ExternalLink, Plus, Rocket } from "lucide-react";
import { Link } from "react-router";
import { DeploymentActions } from "@/components/DeploymentActions";
import { ErrorState } from "@/components/ErrorState";
import { StatusBadge } from "@/components/StatusBadge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/spinner";
import { type Deployment, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { MetricsService, type Overview } from "@/gen/coderunner/v1/metrics_pb";
import type { Project } from "@/gen/coderunner/v1/project_pb";
import { useLiveDeployments } from "@/lib/deployments";
import { useCurrentProject } from "@/lib/projects";
import { useNow } from "@/lib/now";
import { describeError } from "@/lib/errors";
import { formatBytes, formatCores, formatNumber, runtimeLabel, timeAgo, toDate } from "@/lib/format";

function Stat({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card className="p-4">
      <p className="text-xs font-medium uppercase tracking-wide text-muted-foreground">{label}</p>
      <p className="mt-1 text-2xl font-semibold tabular-nums">{value}</p>
      {hint && <p className="mt-0.5 text-xs text-muted-foreground">{hint}</p>}
    </Card>
  );
}

function countOf(o: Overview, s: DeploymentStatus): number {
  return o.statusCounts.find((c) => c.status === s)?.count ?? 0;
}

/** statusHint counts running, asleep (only when some are) and failed deployments. */
function statusHint(running: number, asleep: number, failed: number): string {
  return [`${running} running`, ...(asleep > 0 ? [`${asleep} asleep`] : []), `${failed} failed`].join(" · ");
}

function StatCards({ deployments, listLoaded }: { deployments: Deployment[]; listLoaded: boolean }) {
  const overview = useQuery(MetricsService.method.getOverview, {}, {
    refetchInterval: (q) => (q.state.error ? false : 10_000),
  });
  const o = overview.data?.overview;
  if (overview.isPending) {
    return (
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-4" aria-busy="true">
        {[0, 1, 2, 3].map((i) => (
          <Skeleton key={i} className="h-22" />
        ))}
      </div>
    );
  }
  if (o) {
    return (
      <div className="grid grid-cols-2 gap-3 lg:grid-cols-4" data-testid="stat-cards">
        <Stat
          label="Deployments"
          value={formatNumber(o.totalDeployments)}
          hint={statusHint(countOf(o, DeploymentStatus.RUNNING), countOf(o, DeploymentStatus.IDLE), countOf(o, DeploymentStatus.FAILED))}
        />
        <Stat label="Requests served" value={formatNumber(o.totalRequests)} hint="since the server started" />
        <Stat
          label="CPU in use"
          value={formatCores(o.cpuCoresUsed)}
          hint={o.cpuCoresLimit > 0 ? `of ${formatCores(o.cpuCoresLimit)} allowed` : undefined}
        />
        <Stat
          label="Memory in use"
          value={formatBytes(o.memoryBytesUsed)}
          hint={o.memoryBytesLimit > 0n ? `of ${formatBytes(o.memoryBytesLimit)} allowed` : undefined}
        />
      </div>
    );
  }
  // The overview failed: the counts still come from the live deployment
  // list; usage is unknown until a retry succeeds.
  const running = deployments.filter((d) => d.status === DeploymentStatus.RUNNING).length;
  const failed = deployments.filter((d) => d.status === DeploymentStatus.FAILED).length;
  return (
    <div className="grid gap-3">
      <div className="grid grid-cols-3 gap-3" data-testid="stat-cards">
        <Stat label="Deployments" value={listLoaded ? formatNumber(deployments.length) : "—"} />
        <Stat label="Running" value={listLoaded ? formatNumber(running) : "—"} />
        <Stat label="Failed" value={listLoaded ? formatNumber(failed) : "—"} />
      </div>
      <p className="text-xs text-muted-foreground" role="status">
        Usage figures could not be loaded: {describeError(overview.error)}
      </p>
    </div>
  );
}

function EmptyState({ project }: { project: Project | undefined }) {
  return (
    <Card className="flex flex-col items-center gap-3 px-6 py-14 text-center">
      <Rocket className="size-10 text-primary" aria-hidden />
      <h2 className="text-lg font-semibold">No deployments yet</h2>
      {project && !project.isDefault && <p className="text-sm text-muted-foreground">Project {project.name} is empty.</p>}
      <p className="max-w-sm text-sm text-muted-foreground">
        Deploy a Node.js app or a manifest.yaml CRUD API: drop your files, write them in the editor, or start from an example.
      </p>
      <Button asChild>
        <Link to="/new">
          <Plus /> New deployment
        </Link>
      </Button>
    </Card>
  );
}

function UrlLink({ d }: { d: Deployment }) {
  if (!d.url) return <span className="text-muted-foreground">—</span>;
  const label = d.url.replace(/^https?:\/\//, "").replace(/\/$/, "");
  return (
    <a
      href={d.url}
      target="_blank"
      rel="noreferrer"
      className="inline-flex max-w-full items-center gap-1 truncate text-primary underline-offset-4 hover:underline"
    >
      <span className="truncate">{label}</span>
      <ExternalLink className="size-3 shrink-0" aria-hidden />
      <span className="sr-only">(opens in a new tab)</span>
    </a>
  );
}

function DeploymentRow({ d }: { d: Deployment }) {
  return (
    <li className="grid grid-cols-1 gap-2 px-4 py-3 md:grid-cols-[minmax(0,1.4fr)_7.5rem_7rem_minmax(0,1.6fr)_6rem_8.5rem] md:items-center md:gap-4" data-deployment={d.name}>
      <div className="flex min-w-0 items-center justify-between gap-2">
        <Link to={`/deployments/${d.id}`} className="truncate font-medium hover:underline">
          {d.name}
        </Link>
        <StatusBadge status={d.status} className="md:hidden" />
      </div>
      <div className="hidden md:block">
        <StatusBadge status={d.status} />
      </div>
      <div className="text-sm text-muted-foreground">
        <span className="md:hidden">Runtime: </span>
        {runtimeLabel(d.runtime)}
      </div>
      <div className="min-w-0 text-sm">
        <UrlLink d={d} />
      </div>
      <div className="text-sm text-muted-foreground" title={toDate(d.createdAt)?.toLocaleString()}>
        <span className="md:hidden">Created </span>
        {timeAgo(toDate(d.createdAt))}
      </div>
      <DeploymentActions deployment={d} compact className="md:items-end" />
    </li>
  );
}

/** DeploymentsPage is home: stat cards and the live list of the current project. */
export function DeploymentsPage() {
  const { current, error } = useCurrentProject();
  // Without projects (an older server, or the list failed) all deployments show.
  const projectId = current?.id ?? (error ? "" : undefined);
  // A new project starts from a fresh list: no watched state carries over.
  return <ProjectDeployments key={projectId ?? "loading"} project={current} projectId={projectId} />;
}

function ProjectDeployments({ project, projectId }: { project: Project | undefined; projectId: string | undefined }) {
  const live = useLiveDeployments(projectId);
  useNow();
  return (
    <div className="grid gap-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div>
          <h1 className="text-2xl font-semibold">Deployments</h1>
          <p className="text-sm text-muted-foreground">
            {project ? (
              <>
                In project <span className="font-medium text-foreground" data-testid="current-project">{project.name}</span>, live.
              </>
            ) : (
              "Your apps and APIs, live."
            )}
            {live.watch.kind === "reconnecting" && " Reconnecting to live updates…"}
          </p>
        </div>
        <Button asChild>
          <Link to="/new">
            <Plus /> New deployment
          </Link>
        </Button>
      </div>
      <StatCards deployments={live.deployments} listLoaded={!live.isLoading && !live.error} />
      {live.isLoading ? (
        <Card aria-busy="true" className="grid gap-3 p-4">
          {[0, 1, 2].map((i) => (
            <Skeleton key={i} className="h-10" />
          ))}
        </Card>
      ) : live.error && live.deployments.length === 0 ? (
        <ErrorState title="Could not load your deployments" error={live.error} onRetry={live.refetch} />
      ) : live.deployments.length === 0 ? (
        <EmptyState project={project} />
      ) : (
        <Card className="overflow-hidden">
          <div className="hidden grid-cols-[minmax(0,1.4fr)_7.5rem_7rem_minmax(0,1.6fr)_6rem_8.5rem] gap-4 border-b bg-muted/50 px-4 py-2 text-xs font-medium uppercase tracking-wide text-muted-foreground md:grid">
            <span>Name</span>
            <span>Status</span>
            <span>Runtime</span>
            <span>URL</span>
            <span>Created</span>
            <span className="text-right">Actions</span>
          </div>
          <ul className="divide-y" aria-label="Deployments">
            {live.deployments.map((d) => (
              <DeploymentRow key={d.id} d={d} />
            ))}
          </ul>
          {live.totalSize > live.deployments.length && (
            <CardContent className="pt-3 text-xs text-muted-foreground">
              Showing {live.deployments.length} of {live.totalSize}.
            </CardContent>
          )}
        </Card>
      )}
    </div>
  );
}
