// The log tail's data side: a buffer that keeps lines in seq order without
// duplicates, and a follower that reads StreamLogs and resumes with
// after_seq after a dropped connection, so no line is lost or repeated.

import { Code, ConnectError, type Client } from "@connectrpc/connect";
import {
  type DeploymentService,
  DeploymentStatus,
  type LogEntry,
} from "@/gen/coderunner/v1/deployment_pb";

/** The most lines kept in the browser; the server keeps 50,000 per deployment. */
export const MAX_LINES = 60_000;

/**
 * LogBuffer holds a deployment's lines in seq order. Lines at or below the
 * highest seq seen are ignored, which makes a replay after reconnecting safe.
 */
export class LogBuffer {
  private lines: LogEntry[] = [];
  private version = 0;

  constructor(private readonly max = MAX_LINES) {}

  /** lastSeq is the highest seq held, or 0n when empty. */
  get lastSeq(): bigint {
    return this.lines[this.lines.length - 1]?.seq ?? 0n;
  }

  /** size is the number of lines held. */
  get size(): number {
    return this.lines.length;
  }

  /** append adds the lines newer than lastSeq and returns how many it added. */
  append(entries: readonly LogEntry[]): number {
    let added = 0;
    for (const e of entries) {
      if (e.seq <= this.lastSeq) continue;
      this.lines.push(e);
      added++;
    }
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    if (added > 0) this.version++;
    return added;
  }

  /** clear empties the buffer. */
  clear(): void {
    this.lines = [];
    this.version++;
  }

  /** snapshot returns the lines; a new array whenever they changed. */
  snapshot(): readonly LogEntry[] {
    if (this.cachedVersion !== this.version) {
      this.cached = this.lines.slice();
      this.cachedVersion = this.version;
    }
    return this.cached;
  }
  private cached: readonly LogEntry[] = [];
  private cachedVersion = -1;
}

/** FollowState tells the UI what the follower is doing. */
export type FollowState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "ended"; finalStatus: DeploymentStatus }
  | { kind: "reconnecting"; attempt: number; error: string; retryInMs: number }
  | { kind: "error"; error: ConnectError };

export interface FollowOptions {
  client: Client<typeof DeploymentService>;
  deploymentId: string;
  buffer: LogBuffer;
  signal: AbortSignal;
  /** Called after lines were added to the buffer. */
  onLines: () => void;
  onState: (state: FollowState) => void;
  /**
   * Delay before following again after the server ended the stream because
   * the deployment stopped or failed: a new follow stays open and picks up
   * the lines of the next start.
   */
  resumeAfterEndMs?: number;
  /** Delay before reconnect attempt n (1-based). */
  backoffMs?: (attempt: number) => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultBackoff = (attempt: number) => Math.min(10_000, 500 * 2 ** (attempt - 1));

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

// Errors after which retrying cannot help.
const permanent = new Set<Code>([
  Code.Unauthenticated,
  Code.PermissionDenied,
  Code.NotFound,
  Code.InvalidArgument,
  Code.Unimplemented,
]);

/**
 * followLogs replays and follows a deployment's log into buffer until signal
 * aborts or the deployment is destroyed. The first request replays everything stored; every later one asks
 * for after_seq = the last seq received, and the buffer drops anything at
 * or below it, so a reconnect neither loses nor repeats a line.
 */
export async function followLogs(opts: FollowOptions): Promise<void> {
  const { client, deploymentId, buffer, signal, onLines, onState } = opts;
  const backoff = opts.backoffMs ?? defaultBackoff;
  const sleep = opts.sleep ?? abortableSleep;
  let attempt = 0;
  let first = true;
  while (!signal.aborted) {
    if (first) onState({ kind: "connecting" });
    first = false;
    let finalStatus = DeploymentStatus.UNSPECIFIED;
    try {
      const afterSeq = buffer.lastSeq;
      const stream = client.streamLogs({ deploymentId, follow: true, afterSeq }, { signal });
      let announced = false;
      for await (const res of stream) {
        if (!announced) {
          onState({ kind: "live" });
          announced = true;
          attempt = 0;
        }
        if (res.entries.length > 0 && buffer.append(res.entries) > 0) onLines();
        if (res.finalStatus !== DeploymentStatus.UNSPECIFIED) finalStatus = res.finalStatus;
      }
      // A stream that ends without error: the deployment stopped, failed or
      // was destroyed (or the server is shutting down).
      if (signal.aborted) return;
      onState({ kind: "ended", finalStatus });
      if (finalStatus === DeploymentStatus.DESTROYED) return;
      await sleep(finalStatus === DeploymentStatus.UNSPECIFIED ? backoff(1) : (opts.resumeAfterEndMs ?? 500), signal);
    } catch (err) {
      if (signal.aborted) return;
      const ce = ConnectError.from(err);
      if (ce.code === Code.Canceled && signal.aborted) return;
      if (permanent.has(ce.code)) {
        onState({ kind: "error", error: ce });
        return;
      }
      attempt++;
      const wait = backoff(attempt);
      onState({ kind: "reconnecting", attempt, error: ce.rawMessage, retryInMs: wait });
      try {
        await sleep(wait, signal);
      } catch {
        return;
      }
    }
  }
}
