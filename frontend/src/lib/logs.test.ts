import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  DeploymentService,
  DeploymentStatus,
  type LogEntry,
  LogEntrySchema,
  LogPhase,
  LogStream,
  type StreamLogsRequest,
} from "@/gen/coderunner/v1/deployment_pb";
import { type FollowState, LogBuffer, followLogs } from "./logs";

function entry(seq: number, text = `line ${seq}`): LogEntry {
  return create(LogEntrySchema, {
    seq: BigInt(seq),
    text,
    time: timestampNow(),
    stream: LogStream.STDOUT,
    phase: LogPhase.RUN,
  });
}

const seqs = (b: LogBuffer) => b.snapshot().map((e) => Number(e.seq));
const ID = "01a21feb-7e10-75cf-9bcd-53e441a1da05";

describe("LogBuffer", () => {
  it("appends in order and ignores lines it already has", () => {
    const b = new LogBuffer();
    expect(b.append([entry(1), entry(2), entry(3)])).toBe(3);
    expect(b.append([entry(2), entry(3), entry(4)])).toBe(1);
    expect(seqs(b)).toEqual([1, 2, 3, 4]);
    expect(b.lastSeq).toBe(4n);
  });

  it("keeps at most max lines, dropping the oldest", () => {
    const b = new LogBuffer(3);
    b.append([1, 2, 3, 4, 5].map((n) => entry(n)));
    expect(seqs(b)).toEqual([3, 4, 5]);
  });

  it("returns the same snapshot until lines change", () => {
    const b = new LogBuffer();
    b.append([entry(1)]);
    const s1 = b.snapshot();
    expect(b.snapshot()).toBe(s1);
    b.append([entry(1)]);
    expect(b.snapshot()).toBe(s1);
    b.append([entry(2)]);
    expect(b.snapshot()).not.toBe(s1);
  });
});

describe("followLogs", () => {
  it("resumes with after_seq after a dropped stream, without losing or repeating lines", async () => {
    const requests: StreamLogsRequest[] = [];
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(req) {
          requests.push(req);
          if (requests.length === 1) {
            yield { entries: [entry(1), entry(2)] };
            yield { entries: [entry(3)] };
            throw new ConnectError("connection reset", Code.Unavailable);
          }
          // The server replays from after_seq; a line it sends again is dropped.
          yield { entries: [entry(3), entry(4)] };
          yield { entries: [] }; // keepalive
          yield { entries: [entry(5)] };
          yield { finalStatus: DeploymentStatus.DESTROYED };
        },
      });
    });
    const buffer = new LogBuffer();
    const states: FollowState["kind"][] = [];
    let notified = 0;
    await followLogs({
      client: createClient(DeploymentService, transport),
      deploymentId: ID,
      buffer,
      signal: new AbortController().signal,
      onLines: () => notified++,
      onState: (s) => states.push(s.kind),
      backoffMs: () => 0,
    });
    expect(seqs(buffer)).toEqual([1, 2, 3, 4, 5]);
    expect(requests.map((r) => [r.afterSeq, r.follow])).toEqual([
      [0n, true],
      [3n, true],
    ]);
    expect(states).toEqual(["connecting", "live", "reconnecting", "live", "ended"]);
    expect(notified).toBe(4);
  });

  it("follows again after the deployment stopped, from the last seq", async () => {
    const requests: bigint[] = [];
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(req) {
          requests.push(req.afterSeq);
          if (requests.length === 1) {
            yield { entries: [entry(1)] };
            yield { finalStatus: DeploymentStatus.STOPPED };
            return;
          }
          yield { entries: [entry(2, "started again")] };
          yield { finalStatus: DeploymentStatus.DESTROYED };
        },
      });
    });
    const buffer = new LogBuffer();
    await followLogs({
      client: createClient(DeploymentService, transport),
      deploymentId: ID,
      buffer,
      signal: new AbortController().signal,
      onLines: () => {},
      onState: () => {},
      resumeAfterEndMs: 0,
    });
    expect(requests).toEqual([0n, 1n]);
    expect(buffer.snapshot().map((e) => e.text)).toEqual(["line 1", "started again"]);
  });

  it("stops on errors a retry cannot fix", async () => {
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        // The handler only fails.
        async *streamLogs() {
          throw new ConnectError("deployment not found", Code.NotFound);
        },
      });
    });
    const states: FollowState[] = [];
    await followLogs({
      client: createClient(DeploymentService, transport),
      deploymentId: ID,
      buffer: new LogBuffer(),
      signal: new AbortController().signal,
      onLines: () => {},
      onState: (s) => states.push(s),
      backoffMs: () => 0,
    });
    const last = states[states.length - 1];
    expect(last?.kind).toBe("error");
    expect(last?.kind === "error" && last.error.code).toBe(Code.NotFound);
  });

  it("ends quietly when aborted", async () => {
    const ctrl = new AbortController();
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(_req, ctx) {
          yield { entries: [entry(1)] };
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
        },
      });
    });
    const buffer = new LogBuffer();
    const done = followLogs({
      client: createClient(DeploymentService, transport),
      deploymentId: ID,
      buffer,
      signal: ctrl.signal,
      onLines: () => ctrl.abort(),
      onState: () => {},
    });
    await expect(done).resolves.toBeUndefined();
    expect(seqs(buffer)).toEqual([1]);
  });
});
