// Running a server stream for as long as a component is mounted, with
// reconnects after transient failures.

import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "react";

export type StreamState =
  | { kind: "connecting" }
  | { kind: "live" }
  | { kind: "reconnecting"; error: string; attempt: number }
  | { kind: "error"; error: ConnectError };

const permanent = new Set<Code>([Code.Unauthenticated, Code.PermissionDenied, Code.NotFound, Code.InvalidArgument, Code.Unimplemented]);

/**
 * useLiveStream runs consume(signal, markLive) while consume is the same
 * function and the component is mounted. When consume ends or throws a
 * transient error it is started again after a back-off; the signal is
 * aborted on unmount. A new consume starts a new stream, so pass one made
 * with useCallback: its dependencies are what the stream follows.
 */
export function useLiveStream(
  consume: (signal: AbortSignal, markLive: () => void) => Promise<void>,
  enabled = true,
): StreamState {
  const [state, setState] = useState<StreamState>({ kind: "connecting" });
  useEffect(() => {
    if (!enabled) return;
    const ctrl = new AbortController();
    const { signal } = ctrl;
    let attempt = 0;
    void (async () => {
      while (!signal.aborted) {
        try {
          await consume(signal, () => {
            attempt = 0;
            setState({ kind: "live" });
          });
          if (signal.aborted) return;
          attempt++;
        } catch (err) {
          if (signal.aborted) return;
          const ce = ConnectError.from(err);
          if (permanent.has(ce.code)) {
            setState({ kind: "error", error: ce });
            return;
          }
          attempt++;
          setState({ kind: "reconnecting", error: ce.rawMessage, attempt });
        }
        const wait = Math.min(10_000, 500 * 2 ** Math.max(0, attempt - 1));
        await new Promise((r) => setTimeout(r, wait));
      }
    })();
    return () => ctrl.abort();
  }, [consume, enabled]);
  return state;
}
