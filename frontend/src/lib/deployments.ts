// Deployments kept current: a unary load through connect-query, then the
// WatchDeployment(s) stream applies every status change as it happens.

import { timestampMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { skipToken, useQuery, useTransport } from "@connectrpc/connect-query";
import { useCallback, useMemo, useState } from "react";
import {
  type Deployment,
  type DeploymentEvent,
  DeploymentService,
  DeploymentStatus,
} from "@/gen/coderunner/v1/deployment_pb";
import { type StreamState, useLiveStream } from "./streams";

export function useDeploymentClient(): Client<typeof DeploymentService> {
  const transport = useTransport();
  return useMemo(() => createClient(DeploymentService, transport), [transport]);
}

function updatedMs(d: Deployment): number {
  return d.updatedAt ? timestampMs(d.updatedAt) : 0;
}

/** newer picks the more recent of two versions of a deployment. */
export function newer(a: Deployment | undefined, b: Deployment | undefined): Deployment | undefined {
  if (!a) return b;
  if (!b) return a;
  return updatedMs(b) >= updatedMs(a) ? b : a;
}

/** fromEvent is the deployment an event describes, with the event's status. */
export function fromEvent(ev: DeploymentEvent): Deployment | undefined {
  if (!ev.deployment) return undefined;
  return ev.status === DeploymentStatus.UNSPECIFIED || ev.deployment.status === ev.status
    ? ev.deployment
    : { ...ev.deployment, status: ev.status, statusReason: ev.reason || ev.deployment.statusReason };
}

/** mergeDeployments combines the listed deployments with watched updates, newest first. */
export function mergeDeployments(listed: readonly Deployment[], watched: ReadonlyMap<string, Deployment>): Deployment[] {
  const byId = new Map<string, Deployment>();
  for (const d of listed) byId.set(d.id, d);
  for (const [id, d] of watched) {
    const merged = newer(byId.get(id), d);
    if (merged) byId.set(id, merged);
  }
  return [...byId.values()]
    .filter((d) => d.status !== DeploymentStatus.DESTROYED)
    .sort((a, b) => (b.createdAt ? timestampMs(b.createdAt) : 0) - (a.createdAt ? timestampMs(a.createdAt) : 0));
}

export interface LiveDeployments {
  deployments: Deployment[];
  totalSize: number;
  isLoading: boolean;
  error: unknown;
  refetch: () => void;
  watch: StreamState;
}

/**
 * useLiveDeployments lists the deployments of project projectId and follows
 * their status. Nothing is listed while projectId is undefined (the current
 * project is not known yet); "" lists all of the caller's deployments.
 */
export function useLiveDeployments(projectId: string | undefined): LiveDeployments {
  const client = useDeploymentClient();
  const list = useQuery(
    DeploymentService.method.listDeployments,
    projectId === undefined ? skipToken : { pageSize: 100, projectId },
  );
  const [watched, setWatched] = useState<ReadonlyMap<string, Deployment>>(new Map());
  const consume = useCallback(
    async (signal: AbortSignal, markLive: () => void) => {
      for await (const res of client.watchDeployments({}, { signal })) {
        markLive();
        const d = res.event && fromEvent(res.event);
        // The watch covers every project: keep this one's deployments.
        if (!d || (projectId && d.projectId !== projectId)) continue;
        setWatched((prev) => {
          const next = new Map(prev);
          next.set(d.id, newer(prev.get(d.id), d) ?? d);
          return next;
        });
      }
    },
    [client, projectId],
  );
  const watch = useLiveStream(consume, projectId !== undefined);
  const { refetch: refetchList } = list;
  const refetch = useCallback(() => void refetchList(), [refetchList]);
  const deployments = useMemo(
    () => mergeDeployments(list.data?.deployments ?? [], watched),
    [list.data, watched],
  );
  return {
    deployments,
    totalSize: list.data?.totalSize ?? deployments.length,
    isLoading: list.isPending,
    error: list.error,
    refetch,
    watch,
  };
}

export interface LiveDeployment {
  deployment: Deployment | undefined;
  isLoading: boolean;
  error: unknown;
  refetch: () => void;
  watch: StreamState;
  /** Increases with every status event received (to refresh the timeline). */
  changes: number;
  /** apply records a deployment returned by an action (stop, start, ...). */
  apply: (d: Deployment | undefined) => void;
}

/** useLiveDeployment loads one deployment and follows its status. */
export function useLiveDeployment(id: string): LiveDeployment {
  const client = useDeploymentClient();
  const q = useQuery(DeploymentService.method.getDeployment, { id });
  const [live, setLive] = useState<Deployment | undefined>(undefined);
  const [changes, setChanges] = useState(0);
  const consume = useCallback(
    async (signal: AbortSignal, markLive: () => void) => {
      for await (const res of client.watchDeployment({ id }, { signal })) {
        markLive();
        const d = res.event && fromEvent(res.event);
        if (!d) continue;
        setLive((prev) => newer(prev, d));
        setChanges((c) => c + 1);
        if (d.status === DeploymentStatus.DESTROYED) return;
      }
    },
    [client, id],
  );
  const watch = useLiveStream(consume);
  const apply = useCallback((d: Deployment | undefined) => {
    if (d) setLive((prev) => newer(prev, d));
  }, []);
  const { refetch: refetchQ } = q;
  const refetch = useCallback(() => void refetchQ(), [refetchQ]);
  return {
    deployment: newer(q.data?.deployment, live),
    isLoading: q.isPending && !live,
    error: live ? null : q.error,
    refetch,
    watch,
    changes,
    apply,
  };
}
