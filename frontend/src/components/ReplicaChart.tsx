import { timestampMs } from "@bufbuild/protobuf/wkt";
import { useQuery } from "@connectrpc/connect-query";
import { LineChart } from "@/components/LineChart";
import { DeploymentService } from "@/gen/coderunner/v1/deployment_pb";
import type { MetricsSample } from "@/gen/coderunner/v1/metrics_pb";
import { formatNumber, formatTime } from "@/lib/format";
import { scalingDecisions } from "@/lib/scaling";

const SHOWN_DECISIONS = 5;

/**
 * ReplicaChart charts the replica count over the metrics samples, with a
 * marker for each scaling decision (from the deployment's events). A
 * server that does not yet fill MetricsSample.replicas sends 0 in every
 * sample: then the chart waits rather than drawing a false zero.
 */
export function ReplicaChart({ deploymentId, samples }: { deploymentId: string; samples: readonly MetricsSample[] }) {
  const events = useQuery(
    DeploymentService.method.listDeploymentEvents,
    { deploymentId, pageSize: 50, pageToken: "" },
    { refetchInterval: (q) => (q.state.error ? false : 15_000) },
  );
  const reported = samples.some((s) => s.replicas > 0);
  const points = reported ? samples.filter((s) => s.time).map((s) => ({ t: s.time ? timestampMs(s.time) : 0, v: s.replicas })) : [];
  // Events come newest first.
  const decisions = scalingDecisions(events.data?.events ?? []);
  const markers = decisions.map((d) => ({ t: d.t, label: `${d.from} → ${d.to}: ${d.why}` }));
  const top = points.reduce((m, p) => Math.max(m, p.v), 0);

  return (
    <div className="grid gap-2 sm:col-span-2" data-testid="replica-chart">
      <LineChart
        title="Replicas"
        points={points}
        max={Math.max(top + 1, 2)}
        format={(v) => formatNumber(v)}
        color="oklch(0.6 0.18 290)"
        markers={markers}
      />
      {decisions.length > 0 && (
        <ol className="grid gap-1 text-xs text-muted-foreground" aria-label="Scaling decisions">
          {decisions.slice(0, SHOWN_DECISIONS).map((d, i) => (
            <li key={`${d.t}-${i}`} className="flex gap-2">
              <time className="tabular-nums" dateTime={new Date(d.t).toISOString()}>
                {formatTime(new Date(d.t))}
              </time>
              <span className="font-medium text-foreground tabular-nums">
                {d.from} → {d.to}
              </span>
              <span className="truncate">{d.why}</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
