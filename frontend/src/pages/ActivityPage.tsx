import { Link } from "react-router";
import { ErrorState } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import type { AuditEvent } from "@/gen/coderunner/v1/audit_pb";
import { shortAction, useLiveAudit } from "@/lib/audit";
import { formatDateTime, timeAgo, toDate } from "@/lib/format";
import { useNow } from "@/lib/now";
import type { StreamState } from "@/lib/streams";

function StreamNote({ state }: { state: StreamState }) {
  const text =
    state.kind === "live"
      ? "Live: new events appear at the top."
      : state.kind === "connecting"
        ? "Connecting to live updates…"
        : state.kind === "reconnecting"
          ? "Live updates interrupted; reconnecting…"
          : `Live updates stopped: ${state.error.rawMessage}`;
  return (
    <p className="text-sm text-muted-foreground" role="status" data-audit-stream={state.kind}>
      {text}
    </p>
  );
}

function Target({ e }: { e: AuditEvent }) {
  if (!e.targetType) return <span className="text-muted-foreground">—</span>;
  // Ids are UUIDv7: their head is a timestamp shared by neighbours, their tail tells them apart.
  const short = e.targetId.length > 12 ? `…${e.targetId.slice(-8)}` : e.targetId;
  const id = (
    <code className="text-xs" title={e.targetId}>
      {short}
    </code>
  );
  return (
    <span className="inline-flex flex-wrap items-center gap-1">
      <span>{e.targetType.replace(/_/g, " ")}</span>
      {e.targetType === "deployment" && e.targetId ? (
        <Link to={`/deployments/${e.targetId}`} className="text-primary hover:underline">
          {id}
        </Link>
      ) : (
        e.targetId && id
      )}
    </span>
  );
}

function EventRow({ e }: { e: AuditEvent }) {
  const when = toDate(e.time);
  const { method, service } = shortAction(e.action);
  const ok = e.code === "ok";
  return (
    <tr className="border-b align-top last:border-0" data-audit-action={method} data-audit-code={e.code}>
      <td className="whitespace-nowrap px-3 py-2 text-muted-foreground">
        <time dateTime={when?.toISOString()} title={formatDateTime(when)}>
          {timeAgo(when)}
        </time>
      </td>
      <td className="px-3 py-2" title={e.action}>
        <span className="font-medium">{method}</span>
        {service && <span className="block text-xs text-muted-foreground">{service}</span>}
      </td>
      <td className="px-3 py-2">
        <Target e={e} />
      </td>
      <td className="px-3 py-2">
        <Badge tone={ok ? "success" : "danger"}>{e.code || "unknown"}</Badge>
        {!ok && e.message && <span className="mt-1 block max-w-64 break-words text-xs text-red-700 dark:text-red-300">{e.message}</span>}
      </td>
      <td className="whitespace-nowrap px-3 py-2 font-mono text-xs text-muted-foreground">
        {e.clientAddress}
        {e.tokenId && <span className="block font-sans">API token</span>}
      </td>
      <td className="max-w-96 break-words px-3 py-2 font-mono text-xs">{e.summary}</td>
    </tr>
  );
}

/** ActivityPage is the caller's audit log, newest first, live. */
export function ActivityPage() {
  const audit = useLiveAudit();
  useNow();
  return (
    <div className="grid gap-4">
      <div>
        <h1 className="text-2xl font-semibold">Activity</h1>
        <p className="text-sm text-muted-foreground">Every change made on your account, failed attempts and sign-ins included.</p>
        {!audit.isLoading && !audit.error && <StreamNote state={audit.stream} />}
      </div>
      {audit.isLoading ? (
        <ListSkeleton rows={5} />
      ) : audit.error && audit.events.length === 0 ? (
        <ErrorState title="Could not load the activity" error={audit.error} onRetry={audit.refetch} />
      ) : audit.events.length === 0 ? (
        <p className="text-sm text-muted-foreground">No activity yet.</p>
      ) : (
        <Card className="overflow-x-auto">
          <table className="w-full text-left text-sm" aria-label="Audit events">
            <thead className="border-b bg-muted/50 text-xs uppercase tracking-wide text-muted-foreground">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Time</th>
                <th scope="col" className="px-3 py-2 font-medium">Action</th>
                <th scope="col" className="px-3 py-2 font-medium">Target</th>
                <th scope="col" className="px-3 py-2 font-medium">Result</th>
                <th scope="col" className="px-3 py-2 font-medium">Client</th>
                <th scope="col" className="px-3 py-2 font-medium">Summary</th>
              </tr>
            </thead>
            <tbody>
              {audit.events.map((e) => (
                <EventRow key={e.id.toString()} e={e} />
              ))}
            </tbody>
          </table>
        </Card>
      )}
      {audit.hasOlder && (
        <div>
          <Button variant="outline" size="sm" onClick={audit.loadOlder} disabled={audit.loadingOlder}>
            {audit.loadingOlder ? "Loading…" : "Load older"}
          </Button>
        </div>
      )}
    </div>
  );
}
