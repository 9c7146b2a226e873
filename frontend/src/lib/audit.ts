// The audit log kept current: pages of older events through connect-query
// (ListAuditEvents, newest first) and, above them, the events that
// StreamAuditEvents delivers as they are written.

import { type Client, createClient } from "@connectrpc/connect";
import { useInfiniteQuery, useTransport } from "@connectrpc/connect-query";
import { useCallback, useMemo, useRef, useState } from "react";
import { type AuditEvent, AuditService } from "@/gen/coderunner/v1/audit_pb";
import { type StreamState, useLiveStream } from "./streams";

/** shortAction names a procedure by its method: "/coderunner.v1.ConfigService/SetSecret" -> "SetSecret". */
export function shortAction(action: string): { method: string; service: string } {
  const m = /^\/?(?:[\w.]+\.)?(\w+)\/(\w+)$/.exec(action);
  if (!m) return { method: action, service: "" };
  return { method: m[2] ?? action, service: (m[1] ?? "").replace(/Service$/, "") };
}

/**
 * mergeEvents puts live events and listed pages into one list, newest
 * first, each id once (a live event may also arrive in a refetched page).
 */
export function mergeEvents(live: readonly AuditEvent[], listed: readonly AuditEvent[]): AuditEvent[] {
  const byId = new Map<bigint, AuditEvent>();
  for (const e of listed) byId.set(e.id, e);
  for (const e of live) byId.set(e.id, e);
  return [...byId.values()].sort((a, b) => (a.id === b.id ? 0 : a.id > b.id ? -1 : 1));
}

export function useAuditClient(): Client<typeof AuditService> {
  const transport = useTransport();
  return useMemo(() => createClient(AuditService, transport), [transport]);
}

export interface LiveAudit {
  events: AuditEvent[];
  isLoading: boolean;
  error: unknown;
  refetch: () => void;
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => void;
  stream: StreamState;
}

const PAGE_SIZE = 50;

/** useLiveAudit lists the caller's audit events and follows new ones. */
export function useLiveAudit(): LiveAudit {
  const client = useAuditClient();
  const q = useInfiniteQuery(
    AuditService.method.listAuditEvents,
    { pageSize: PAGE_SIZE, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (last) => last.nextPageToken || undefined },
  );
  const [live, setLive] = useState<AuditEvent[]>([]);
  // The stream starts after the newest listed event, so none falls between
  // the page and the stream; 0n (an empty log) means "from now".
  const newestListed = q.data?.pages[0]?.events[0]?.id ?? 0n;
  // A reconnect resumes after the last event received, missing none.
  const lastSeen = useRef(0n);
  const consume = useCallback(
    async (signal: AbortSignal, markLive: () => void) => {
      const afterId = lastSeen.current > newestListed ? lastSeen.current : newestListed;
      // The server sends its headers at once: that is when the stream is live,
      // though the next event may be far off.
      for await (const res of client.streamAuditEvents({ afterId }, { signal, onHeader: markLive })) {
        const ev = res.event;
        if (!ev) continue;
        if (ev.id > lastSeen.current) lastSeen.current = ev.id;
        setLive((prev) => [ev, ...prev]);
      }
    },
    [client, newestListed],
  );
  const stream = useLiveStream(consume, q.isSuccess);
  const { refetch: refetchQ, fetchNextPage } = q;
  const refetch = useCallback(() => void refetchQ(), [refetchQ]);
  const loadOlder = useCallback(() => void fetchNextPage(), [fetchNextPage]);
  const listed = useMemo(() => q.data?.pages.flatMap((p) => p.events) ?? [], [q.data]);
  const events = useMemo(() => mergeEvents(live, listed), [live, listed]);
  return {
    events,
    isLoading: q.isPending,
    error: q.error,
    refetch,
    hasOlder: q.hasNextPage,
    loadingOlder: q.isFetchingNextPage,
    loadOlder,
    stream,
  };
}
