import { create } from "@bufbuild/protobuf";
import { DurationSchema, timestampMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { useQuery, useTransport } from "@connectrpc/connect-query";
import { useCallback, useMemo, useState } from "react";
import { ColdStarts } from "@/components/ColdStarts";
import { ErrorState } from "@/components/ErrorState";
import { LineChart, type Point } from "@/components/LineChart";
import { ReplicaChart } from "@/components/ReplicaChart";
import { Alert } from "@/components/ui/alert";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/spinner";
import { type MetricsSample, MetricsService } from "@/gen/coderunner/v1/metrics_pb";
import { formatBytes, formatCores, formatDuration, formatNumber } from "@/lib/format";
import { useLiveStream } from "@/lib/streams";

const WINDOW_MS = 15 * 60 * 1000;

function series(samples: readonly MetricsSample[], pick: (s: MetricsSample) => number): Point[] {
  return samples.filter((s) => s.time).map((s) => ({ t: s.time ? timestampMs(s.time) : 0, v: pick(s) }));
}

function Figure({ label, value }: { label: string; value: string }) {
  return (
    <div>
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="font-semibold tabular-nums">{value}</dd>
    </div>
  );
}

/** MetricsPanel charts CPU, memory, requests/s, p95 latency and replicas (with scaling decisions), live, and lists the last cold starts. */
export function MetricsPanel({ deploymentId }: { deploymentId: string }) {
  const transport = useTransport();
  const client = useMemo(() => createClient(MetricsService, transport), [transport]);
  // Reloaded now and then for the counters (restarts, requests, uptime);
  // the charts move with the stream in between.
  const q = useQuery(MetricsService.method.getDeploymentMetrics, { deploymentId }, {
    refetchInterval: (query) => (query.state.error ? false : 30_000),
  });
  const [live, setLive] = useState<MetricsSample[]>([]);
  const metrics = q.data?.metrics;

  // Each load of the history replaces the samples streamed before it.
  const historyKey = `${deploymentId} ${q.dataUpdatedAt}`;
  const [liveAfter, setLiveAfter] = useState(historyKey);
  if (liveAfter !== historyKey) {
    setLiveAfter(historyKey);
    setLive([]);
  }

  const consume = useCallback(
    async (signal: AbortSignal, markLive: () => void) => {
      const interval = create(DurationSchema, { seconds: 5n });
      for await (const res of client.streamDeploymentMetrics({ deploymentId, interval }, { signal })) {
        markLive();
        const sample = res.sample;
        if (sample) setLive((prev) => [...prev, sample]);
      }
    },
    [client, deploymentId],
  );
  const stream = useLiveStream(consume, Boolean(metrics));

  const samples = useMemo(() => {
    const all = [...(metrics?.history ?? []), ...live];
    const newest = all[all.length - 1]?.time;
    if (!newest) return all;
    const cutoff = timestampMs(newest) - WINDOW_MS;
    // History and the stream may overlap at the seam: keep one sample per time.
    const seen = new Set<number>();
    return all.filter((s) => {
      const t = s.time ? timestampMs(s.time) : 0;
      if (t < cutoff || seen.has(t)) return false;
      seen.add(t);
      return true;
    });
  }, [metrics, live]);

  if (q.isPending) {
    return (
      <div className="grid gap-3 sm:grid-cols-2" aria-busy="true">
        {[0, 1, 2, 3].map((i) => (
          <Skeleton key={i} className="h-40" />
        ))}
      </div>
    );
  }
  if (q.error || !metrics) return <ErrorState title="Could not load metrics" error={q.error} onRetry={() => void q.refetch()} />;

  const cpuLimit = metrics.cpuLimitCores;
  const memLimit = Number(metrics.memoryLimitBytes);
  const r = metrics.requests;
  const uptime = metrics.uptime ? Number(metrics.uptime.seconds) + metrics.uptime.nanos / 1e9 : 0;

  return (
    <div className="grid gap-4">
      {stream.kind === "reconnecting" && <Alert tone="warning">Live metrics interrupted; reconnecting…</Alert>}
      {stream.kind === "error" && <Alert tone="warning">Live metrics stopped: {stream.error.rawMessage}</Alert>}
      <div className="grid gap-3 sm:grid-cols-2">
        <LineChart
          title="CPU"
          points={series(samples, (s) => s.cpuCores)}
          max={cpuLimit > 0 ? cpuLimit : undefined}
          format={formatCores}
        />
        <LineChart
          title="Memory"
          points={series(samples, (s) => Number(s.memoryBytes))}
          max={memLimit > 0 ? memLimit : undefined}
          format={(v) => formatBytes(v)}
          color="oklch(0.65 0.17 160)"
        />
        <LineChart
          title="Requests per second"
          points={series(samples, (s) => s.requestsPerSecond)}
          format={(v) => `${formatNumber(v, 1)}/s`}
          color="oklch(0.7 0.15 60)"
        />
        <LineChart
          title="Latency p95"
          points={series(samples, (s) => s.latencyP95Seconds * 1000)}
          format={(v) => `${formatNumber(v, 1)} ms`}
          color="oklch(0.62 0.2 20)"
        />
        <ReplicaChart deploymentId={deploymentId} samples={samples} />
      </div>
      <ColdStarts coldStarts={metrics.coldStarts} />
      <Card className="p-4">
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
          <Figure label="Uptime" value={uptime > 0 ? formatDuration(uptime) : "—"} />
          <Figure label="Restarts" value={formatNumber(metrics.restarts)} />
          <Figure label="OOM kills" value={formatNumber(metrics.oomKills)} />
          <Figure
            label="Requests (2xx/3xx/4xx/5xx)"
            value={r ? `${formatNumber(r.success)} / ${formatNumber(r.redirect)} / ${formatNumber(r.clientError)} / ${formatNumber(r.serverError)}` : "—"}
          />
          <Figure label="Bytes in" value={formatBytes(metrics.bytesIn)} />
          <Figure label="Bytes out" value={formatBytes(metrics.bytesOut)} />
          <Figure label="CPU limit" value={cpuLimit > 0 ? formatCores(cpuLimit) : "—"} />
          <Figure label="Memory limit" value={memLimit > 0 ? formatBytes(memLimit) : "—"} />
        </dl>
      </Card>
    </div>
  );
}
