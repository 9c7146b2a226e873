// Scaling decisions as the server records them: a deployment event whose
// reason reads "scaled 1 → 2: autoscale: 5.0 requests in flight per
// replica > 2" (or "…: replicas set by owner").

import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { DeploymentEvent } from "@/gen/coderunner/v1/deployment_pb";

/** ScalingDecision is one change of the replica count and why. */
export interface ScalingDecision {
  /** Milliseconds since the epoch. */
  t: number;
  from: number;
  to: number;
  why: string;
}

const SCALED = /scaled (\d+) → (\d+): (.*)/s;

/** scalingDecisions picks the scaling events out of a deployment's events, in their order. */
export function scalingDecisions(events: readonly DeploymentEvent[]): ScalingDecision[] {
  const out: ScalingDecision[] = [];
  for (const ev of events) {
    const m = SCALED.exec(ev.reason);
    if (!m || !ev.time) continue;
    out.push({ t: timestampMs(ev.time), from: Number(m[1]), to: Number(m[2]), why: (m[3] ?? "").trim() });
  }
  return out;
}
