import { useId } from "react";

export interface Point {
  /** Milliseconds since the epoch. */
  t: number;
  v: number;
}

/** Marker is a moment to flag on the chart, e.g. a scaling decision. */
export interface Marker {
  /** Milliseconds since the epoch. */
  t: number;
  label: string;
}

interface Props {
  title: string;
  points: readonly Point[];
  format: (v: number) => string;
  /** Fixed top of the scale (e.g. a limit); else the data's maximum. */
  max?: number;
  color?: string;
  /** Moments drawn as vertical lines (those inside the charted span). */
  markers?: readonly Marker[];
}

const W = 320;
const H = 96;

/** chartPath returns the SVG path of the line and of the filled area. */
export function chartPath(points: readonly Point[], max: number): { line: string; area: string } {
  if (points.length === 0) return { line: "", area: "" };
  const t0 = points[0]?.t ?? 0;
  const t1 = points[points.length - 1]?.t ?? t0;
  const span = t1 - t0 || 1;
  const top = max > 0 ? max : 1;
  const xy = points.map((p) => {
    const x = points.length === 1 ? W : ((p.t - t0) / span) * W;
    const y = H - Math.max(0, Math.min(1, p.v / top)) * (H - 4);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  // A single sample is drawn as a level line across the chart.
  const line = points.length === 1 ? `M0,${xy[0]?.split(",")[1] ?? H} L${xy[0] ?? `${W},${H}`}` : `M${xy.join(" L")}`;
  return { line, area: `${line} L${W},${H} L0,${H} Z` };
}

/** markerX places t on the chart's x axis, or undefined outside the points' span. */
export function markerX(points: readonly Point[], t: number): number | undefined {
  const t0 = points[0]?.t;
  const t1 = points[points.length - 1]?.t;
  if (t0 === undefined || t1 === undefined || t < t0 || t > t1) return undefined;
  return t1 === t0 ? W : ((t - t0) / (t1 - t0)) * W;
}

/** LineChart is a small hand-rolled SVG time series with its current value. */
export function LineChart({ title, points, format, max, color = "var(--primary)", markers = [] }: Props) {
  const gradient = useId();
  const last = points[points.length - 1];
  const dataMax = points.reduce((m, p) => Math.max(m, p.v), 0);
  const top = max ?? (dataMax > 0 ? dataMax * 1.15 : 1);
  const { line, area } = chartPath(points, top);
  const summary =
    points.length === 0
      ? `${title}: no samples yet`
      : `${title}: now ${format(last?.v ?? 0)}, highest ${format(dataMax)} over ${points.length} samples`;
  return (
    <figure className="rounded-xl border bg-card p-4">
      <figcaption className="flex items-baseline justify-between gap-2">
        <span className="text-sm font-medium text-muted-foreground">{title}</span>
        <span className="text-lg font-semibold tabular-nums">{last ? format(last.v) : "—"}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" className="mt-2 h-24 w-full" role="img" aria-label={summary}>
        <defs>
          <linearGradient id={gradient} x1="0" x2="0" y1="0" y2="1">
            <stop offset="0%" stopColor={color} stopOpacity="0.35" />
            <stop offset="100%" stopColor={color} stopOpacity="0" />
          </linearGradient>
        </defs>
        <line x1="0" x2={W} y1={H - 0.5} y2={H - 0.5} stroke="currentColor" strokeOpacity="0.15" />
        <line x1="0" x2={W} y1={H / 2} y2={H / 2} stroke="currentColor" strokeOpacity="0.08" strokeDasharray="4 4" />
        {area && <path d={area} fill={`url(#${gradient})`} />}
        {line && <path d={line} fill="none" stroke={color} strokeWidth="1.75" vectorEffect="non-scaling-stroke" />}
        {markers.map((m, i) => {
          const x = markerX(points, m.t);
          if (x === undefined) return null;
          return (
            <line key={`${m.t}-${i}`} x1={x} x2={x} y1="0" y2={H} stroke="currentColor" strokeOpacity="0.45" strokeDasharray="2 3" vectorEffect="non-scaling-stroke" data-marker>
              <title>{m.label}</title>
            </line>
          );
        })}
      </svg>
      {points.length === 0 && <p className="-mt-14 mb-8 text-center text-xs text-muted-foreground">Waiting for the first sample…</p>}
      <div className="mt-1 flex justify-between text-[11px] text-muted-foreground tabular-nums">
        <span>{points.length > 0 ? new Date(points[0]?.t ?? 0).toLocaleTimeString(undefined, { hour12: false }) : ""}</span>
        <span>scale {format(top)}</span>
      </div>
    </figure>
  );
}
