import { useInfiniteQuery, useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorState } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { type Deployment, DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { type Release, ReleaseKind } from "@/gen/coderunner/v1/release_pb";
import { describeError } from "@/lib/errors";
import { formatDateTime, timeAgo, toDate } from "@/lib/format";

const KIND_LABEL: Record<ReleaseKind, string> = {
  [ReleaseKind.UNSPECIFIED]: "Release",
  [ReleaseKind.DEPLOY]: "Deploy",
  [ReleaseKind.REDEPLOY]: "Redeploy",
  [ReleaseKind.CONFIG]: "Config",
  [ReleaseKind.ROLLBACK]: "Rollback",
};

/** What a rollback does not revert, said before it runs. */
export const NOT_REVERTED =
  "Not rolled back: files the app wrote in its data directory ($DATA_DIR), its databases, the replica count, and the project's shared variables and secrets (it runs with the project's current values).";

function shortDigest(digest: string) {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/**
 * ReleasesPanel lists a deployment's releases, newest first, and rolls
 * back to one after a confirmation that names what a rollback keeps.
 */
export function ReleasesPanel({
  deployment: d,
  changes,
  onChanged,
}: {
  deployment: Deployment;
  changes: number;
  onChanged: (d: Deployment | undefined) => void;
}) {
  const queryClient = useQueryClient();
  const q = useInfiniteQuery(
    DeploymentService.method.listReleases,
    { deploymentId: d.id, pageSize: 50, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (last) => last.nextPageToken || undefined },
  );
  const rollback = useMutation(DeploymentService.method.rollbackDeployment);
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<{ from: bigint; as: bigint } | null>(null);
  const { refetch } = q;
  // A status change arrived on the watch stream: a release may have been made.
  useEffect(() => {
    if (changes > 0) void refetch();
  }, [changes, refetch]);

  const rollBack = (r: Release) => {
    setError(null);
    setStarted(null);
    rollback.mutate(
      { deploymentId: d.id, release: r.number },
      {
        onSuccess: (res) => {
          onChanged(res.deployment);
          setStarted({ from: r.number, as: res.deployment?.release ?? 0n });
          void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
        },
        onError: (err) => setError(describeError(err)),
      },
    );
  };

  if (q.isPending) return <ListSkeleton />;
  if (q.error) return <ErrorState title="Could not load the releases" error={q.error} onRetry={() => void refetch()} />;
  const releases = q.data.pages.flatMap((p) => p.releases);
  if (releases.length === 0) return <p className="text-sm text-muted-foreground">No releases yet.</p>;
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  return (
    <div className="grid gap-4">
      {error && <Alert>{error}</Alert>}
      {started && (
        <p className="text-sm text-muted-foreground" role="status">
          Rolling back to release {started.from.toString()} as release {started.as.toString()}; follow it in the logs.
        </p>
      )}
      <ol className="grid gap-2" aria-label="Releases">
        {releases.map((r) => {
          const when = toDate(r.createTime);
          return (
            <li key={r.number.toString()} className="flex flex-wrap items-start justify-between gap-3 rounded-md border p-3" data-release={r.number.toString()}>
              <div className="grid min-w-0 gap-1">
                <div className="flex flex-wrap items-center gap-2">
                  <span className="font-medium">Release {r.number.toString()}</span>
                  <Badge>{KIND_LABEL[r.kind]}</Badge>
                  {r.current && <Badge tone="success">Current</Badge>}
                  {!r.current && !r.rollbackAvailable && <Badge tone="warning">Pruned</Badge>}
                </div>
                <p className="break-words text-sm">{r.description}</p>
                <p className="text-xs text-muted-foreground">
                  <time dateTime={when?.toISOString()} title={formatDateTime(when)}>
                    {timeAgo(when)}
                  </time>
                  {r.createdBy && <> · {r.createdBy}</>} · source <code>{shortDigest(r.sourceDigest)}</code> · config <code>{r.configVersion}</code>
                </p>
              </div>
              {r.rollbackAvailable && !destroyed && (
                <ConfirmButton
                  variant="outline"
                  size="sm"
                  title={`Roll back to release ${r.number.toString()}?`}
                  description={
                    <>
                      Release {r.number.toString()}&apos;s source, build, env vars, limits and secret versions run again as a new release, without
                      downtime. {NOT_REVERTED}
                    </>
                  }
                  confirmLabel="Roll back"
                  disabled={rollback.isPending}
                  onConfirm={() => rollBack(r)}
                >
                  Roll back
                </ConfirmButton>
              )}
            </li>
          );
        })}
      </ol>
      {q.hasNextPage && (
        <div>
          <Button variant="outline" size="sm" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
            {q.isFetchingNextPage ? "Loading…" : "Load older releases"}
          </Button>
        </div>
      )}
    </div>
  );
}
