// Words and numbers for what the API returns.

import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { DeploymentStatus, Runtime } from "@/gen/coderunner/v1/deployment_pb";

export function statusLabel(s: DeploymentStatus): string {
  switch (s) {
    case DeploymentStatus.PENDING:
      return "Pending";
    case DeploymentStatus.PROVISIONING:
      return "Provisioning";
    case DeploymentStatus.BUILDING:
      return "Building";
    case DeploymentStatus.RUNNING:
      return "Running";
    case DeploymentStatus.STOPPED:
      return "Stopped";
    case DeploymentStatus.FAILED:
      return "Failed";
    case DeploymentStatus.DESTROYED:
      return "Deleted";
    case DeploymentStatus.IDLE:
      return "Asleep";
    default:
      return "Unknown";
  }
}

export type Tone = "neutral" | "success" | "warning" | "danger" | "info" | "asleep";

export function statusTone(s: DeploymentStatus): Tone {
  switch (s) {
    case DeploymentStatus.RUNNING:
      return "success";
    case DeploymentStatus.FAILED:
      return "danger";
    // Asleep is healthy: not stopped by anyone, not failed; a request wakes it.
    case DeploymentStatus.IDLE:
      return "asleep";
    case DeploymentStatus.PENDING:
    case DeploymentStatus.PROVISIONING:
    case DeploymentStatus.BUILDING:
      return "info";
    default:
      return "neutral";
  }
}

/** isInProgress: the deployment is on its way to RUNNING. */
export function isInProgress(s: DeploymentStatus): boolean {
  return s === DeploymentStatus.PENDING || s === DeploymentStatus.PROVISIONING || s === DeploymentStatus.BUILDING;
}

/** isActive: processes exist or are being prepared (so logs may grow). */
export function isActive(s: DeploymentStatus): boolean {
  return isInProgress(s) || s === DeploymentStatus.RUNNING;
}

/** canStart, canStop, canRestart mirror the server's state machine (an asleep deployment can be stopped, and wakes by a request, not Start). */
export const canStart = (s: DeploymentStatus) => s === DeploymentStatus.STOPPED || s === DeploymentStatus.FAILED;
export const canStop = (s: DeploymentStatus) => isActive(s) || s === DeploymentStatus.IDLE;
export const canRestart = (s: DeploymentStatus) => s === DeploymentStatus.RUNNING;

export function runtimeLabel(r: Runtime): string {
  switch (r) {
    case Runtime.NODEJS:
      return "Node.js";
    case Runtime.MANIFEST:
      return "Manifest API";
    default:
      return "Auto-detect";
  }
}

export function toDate(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

/** timeAgo says how long ago d was, e.g. "3 min ago". */
export function timeAgo(d: Date | undefined, now: number = Date.now()): string {
  if (!d) return "—";
  const s = Math.max(0, Math.round((now - d.getTime()) / 1000));
  if (s < 10) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

export function formatDateTime(d: Date | undefined): string {
  if (!d) return "—";
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

export function formatTime(d: Date | undefined): string {
  if (!d) return "";
  return d.toLocaleTimeString(undefined, { hour12: false });
}

export function formatBytes(n: number | bigint): string {
  let v = Number(n);
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const shown = v >= 100 || i === 0 ? String(Math.round(v)) : v.toFixed(1).replace(/\.0$/, "");
  return `${shown} ${units[i]}`;
}

export function formatNumber(n: number | bigint, digits = 0): string {
  return Number(n).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

/** formatCores shows CPU as cores, or millicores below one core. */
export function formatCores(cores: number): string {
  if (cores === 0) return "0 cores";
  if (cores < 1) return `${formatNumber(cores * 1000, cores < 0.01 ? 2 : 0)} millicores`;
  return `${formatNumber(cores, 2)} ${cores === 1 ? "core" : "cores"}`;
}
