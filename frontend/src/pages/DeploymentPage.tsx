import { ArrowLeft, ExternalLink } from "lucide-react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { DatabasePanel } from "@/components/database/DatabasePanel";
import { DeploymentActions } from "@/components/DeploymentActions";
import { ErrorState } from "@/components/ErrorState";
import { Meta } from "@/components/Meta";
import { EventsTimeline } from "@/components/EventsTimeline";
import { LogView } from "@/components/LogView";
import { MetricsPanel } from "@/components/MetricsPanel";
import { ReleasesPanel } from "@/components/ReleasesPanel";
import { SettingsPanel } from "@/components/SettingsPanel";
import { StatusBadge } from "@/components/StatusBadge";
import { Alert } from "@/components/ui/alert";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/spinner";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { useLiveDeployment } from "@/lib/deployments";
import { useNow } from "@/lib/now";
import { formatDateTime, isInProgress, runtimeLabel, timeAgo, toDate } from "@/lib/format";

const TABS = ["logs", "metrics", "events", "releases", "database", "settings"] as const;
type Tab = (typeof TABS)[number];

/** DeploymentPage: live header with controls, and logs/metrics/events/releases/database/settings tabs. */
export function DeploymentPage() {
  const { id = "" } = useParams();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const tabParam = params.get("tab");
  const tab: Tab = TABS.includes(tabParam as Tab) ? (tabParam as Tab) : "logs";
  const live = useLiveDeployment(id);
  useNow();
  const d = live.deployment;
  const goHome = () => void navigate("/", { replace: true });

  if (live.isLoading) {
    return (
      <div className="grid gap-4" aria-busy="true">
        <Skeleton className="h-8 w-60" />
        <Skeleton className="h-28" />
        <Skeleton className="h-96" />
      </div>
    );
  }
  if (!d) {
    return (
      <div className="grid gap-4">
        <Link to="/" className="inline-flex items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
          <ArrowLeft className="size-4" /> Deployments
        </Link>
        <ErrorState title="Could not load this deployment" error={live.error} onRetry={live.refetch} />
      </div>
    );
  }
  const destroyed = d.status === DeploymentStatus.DESTROYED;

  return (
    <div className="grid gap-5">
      <Link to="/" className="inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft className="size-4" /> Deployments
      </Link>
      <Card className="grid gap-4 p-5">
        <div className="flex flex-wrap items-start justify-between gap-3">
          <div className="grid min-w-0 gap-1">
            <div className="flex flex-wrap items-center gap-2">
              <h1 className="truncate text-2xl font-semibold">{d.name}</h1>
              <span aria-live="polite" className="contents" data-testid="deployment-status">
                <StatusBadge status={d.status} />
              </span>
            </div>
            {d.url && !destroyed && (
              <a
                href={d.url}
                target="_blank"
                rel="noreferrer"
                className="inline-flex w-fit max-w-full items-center gap-1 truncate text-sm text-primary underline-offset-4 hover:underline"
                data-testid="deployment-url"
              >
                <span className="truncate">{d.url}</span>
                <ExternalLink className="size-3.5 shrink-0" aria-hidden />
                <span className="sr-only">(opens in a new tab)</span>
              </a>
            )}
          </div>
          {!destroyed && <DeploymentActions deployment={d} onChanged={live.apply} onDeleted={goHome} />}
        </div>
        {d.statusReason &&
          (d.status === DeploymentStatus.FAILED ? (
            <Alert className="max-h-64 overflow-auto font-mono text-xs" data-testid="status-reason">
              {d.statusReason}
            </Alert>
          ) : d.replacementFailed ? (
            <Alert tone="warning" className="max-h-64 overflow-auto" data-testid="status-reason">
              <p className="font-medium">
                The last redeploy, restart or configuration change failed; revision {d.revision.toString()} serves on.
              </p>
              <p className="mt-1 font-mono text-xs">{d.statusReason}</p>
            </Alert>
          ) : (
            <p className="text-sm text-muted-foreground" data-testid="status-reason">
              {d.statusReason}
            </p>
          ))}
        {isInProgress(d.status) && <p className="text-sm text-muted-foreground">Building and starting; follow along in the logs below.</p>}
        {d.status === DeploymentStatus.IDLE && (
          <p className="text-sm text-muted-foreground" data-testid="asleep-note">
            Asleep after a quiet spell under its autoscaling policy; the next request to its URL wakes it.
          </p>
        )}
        {destroyed && <Alert tone="warning">This deployment was deleted.</Alert>}
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-4">
          <Meta label="Runtime">{runtimeLabel(d.runtime)}</Meta>
          <Meta label="Revision · release">
            {d.revision.toString()} · {d.release.toString()}
          </Meta>
          <Meta label="Created">
            <span title={formatDateTime(toDate(d.createdAt))}>{timeAgo(toDate(d.createdAt))}</span>
          </Meta>
          <Meta label="Replicas · restarts">
            {d.replicas || 1} · {d.restartCount}
          </Meta>
        </dl>
        {live.watch.kind === "reconnecting" && <p className="text-xs text-muted-foreground">Live status interrupted; reconnecting…</p>}
      </Card>

      <Tabs value={tab} onValueChange={(v) => setParams({ tab: v }, { replace: true })}>
        <TabsList aria-label="Deployment sections">
          <TabsTrigger value="logs">Logs</TabsTrigger>
          <TabsTrigger value="metrics">Metrics</TabsTrigger>
          <TabsTrigger value="events">Events</TabsTrigger>
          <TabsTrigger value="releases">Releases</TabsTrigger>
          <TabsTrigger value="database">Database</TabsTrigger>
          <TabsTrigger value="settings">Settings</TabsTrigger>
        </TabsList>
        <TabsContent value="logs">
          <LogView deploymentId={d.id} deploymentName={d.name} />
        </TabsContent>
        <TabsContent value="metrics">
          <MetricsPanel deploymentId={d.id} />
        </TabsContent>
        <TabsContent value="events">
          <EventsTimeline deploymentId={d.id} changes={live.changes} />
        </TabsContent>
        <TabsContent value="releases">
          <ReleasesPanel deployment={d} changes={live.changes} onChanged={live.apply} />
        </TabsContent>
        <TabsContent value="database">
          <DatabasePanel deployment={d} />
        </TabsContent>
        <TabsContent value="settings">
          <SettingsPanel deployment={d} onChanged={live.apply} onDeleted={goHome} />
        </TabsContent>
      </Tabs>
    </div>
  );
}
