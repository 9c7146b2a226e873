import { useInfiniteQuery } from "@connectrpc/connect-query";
import { useEffect } from "react";
import { ErrorState } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import { StatusBadge } from "@/components/StatusBadge";
import { Button } from "@/components/ui/button";
import { DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { formatDateTime, statusLabel, timeAgo, toDate } from "@/lib/format";

/** EventsTimeline lists a deployment's status history, newest first. */
export function EventsTimeline({ deploymentId, changes }: { deploymentId: string; changes: number }) {
  const q = useInfiniteQuery(
    DeploymentService.method.listDeploymentEvents,
    { deploymentId, pageSize: 50, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (last) => last.nextPageToken || undefined },
  );
  const { refetch } = q;
  // A status change arrived on the watch stream: reload the newest page.
  useEffect(() => {
    if (changes > 0) void refetch();
  }, [changes, refetch]);

  if (q.isPending) return <ListSkeleton />;
  if (q.error) return <ErrorState title="Could not load the events" error={q.error} onRetry={() => void refetch()} />;
  const events = q.data.pages.flatMap((p) => p.events);
  if (events.length === 0) return <p className="text-sm text-muted-foreground">No events yet.</p>;
  return (
    <div className="grid gap-4">
      <ol className="relative grid gap-0 border-l pl-5" aria-label="Status history">
        {events.map((ev, i) => {
          const when = toDate(ev.time);
          return (
            <li key={`${when?.getTime() ?? 0}-${i}`} className="relative pb-5 last:pb-0" data-event-status={statusLabel(ev.status).toLowerCase()}>
              <span className="absolute -left-[1.6rem] top-1.5 size-2.5 rounded-full border-2 border-background bg-primary" aria-hidden />
              <div className="flex flex-wrap items-center gap-2">
                {ev.previousStatus !== DeploymentStatus.UNSPECIFIED && (
                  <>
                    <StatusBadge status={ev.previousStatus} />
                    <span className="text-muted-foreground" aria-label="to">
                      →
                    </span>
                  </>
                )}
                <StatusBadge status={ev.status} />
                <time className="text-xs text-muted-foreground" dateTime={when?.toISOString()} title={formatDateTime(when)}>
                  {formatDateTime(when)} · {timeAgo(when)}
                </time>
              </div>
              {ev.reason && <p className="mt-1 whitespace-pre-wrap break-words font-mono text-xs text-muted-foreground">{ev.reason}</p>}
            </li>
          );
        })}
      </ol>
      {q.hasNextPage && (
        <div>
          <Button variant="outline" size="sm" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
            {q.isFetchingNextPage ? "Loading…" : "Load older events"}
          </Button>
        </div>
      )}
    </div>
  );
}
