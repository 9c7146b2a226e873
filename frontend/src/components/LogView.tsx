import type * as React from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ArrowDownToLine, Download, Pause, Play, Search } from "lucide-react";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { AnsiText } from "@/components/AnsiText";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { type LogEntry, LogPhase, LogStream } from "@/gen/coderunner/v1/deployment_pb";
import { stripAnsi } from "@/lib/ansi";
import { useSession } from "@/lib/auth";
import { cn } from "@/lib/cn";
import { useDeploymentClient } from "@/lib/deployments";
import { describeError } from "@/lib/errors";
import { formatTime, statusLabel, toDate } from "@/lib/format";
import { type FollowState, LogBuffer, followLogs } from "@/lib/logs";

const ROW_HEIGHT = 20;

export type PhaseFilter = "all" | "build" | "run";
export interface StreamFilter {
  stdout: boolean;
  stderr: boolean;
  system: boolean;
}

const searchable = new WeakMap<LogEntry, string>();
function searchText(e: LogEntry): string {
  let s = searchable.get(e);
  if (s === undefined) {
    s = (e.text.includes("\u001b") ? stripAnsi(e.text) : e.text).toLowerCase();
    searchable.set(e, s);
  }
  return s;
}

/** filterLines applies the phase, stream and search filters. */
export function filterLines(lines: readonly LogEntry[], phase: PhaseFilter, streams: StreamFilter, query: string): readonly LogEntry[] {
  const q = query.trim().toLowerCase();
  const allStreams = streams.stdout && streams.stderr && streams.system;
  if (phase === "all" && allStreams && !q) return lines;
  return lines.filter((e) => {
    if (phase === "build" && e.phase !== LogPhase.BUILD) return false;
    if (phase === "run" && e.phase !== LogPhase.RUN) return false;
    if (!allStreams) {
      if (e.stream === LogStream.STDOUT && !streams.stdout) return false;
      if (e.stream === LogStream.STDERR && !streams.stderr) return false;
      if (e.stream === LogStream.SYSTEM && !streams.system) return false;
    }
    return !q || searchText(e).includes(q);
  });
}

/** useLogFollower follows a deployment's log for as long as it is mounted. */
export function useLogFollower(deploymentId: string): { lines: readonly LogEntry[]; state: FollowState } {
  const client = useDeploymentClient();
  const [lines, setLines] = useState<readonly LogEntry[]>([]);
  const [state, setState] = useState<FollowState>({ kind: "connecting" });
  // Another deployment's log starts empty, not with the last one's lines.
  const [following, setFollowing] = useState({ client, deploymentId });
  if (following.client !== client || following.deploymentId !== deploymentId) {
    setFollowing({ client, deploymentId });
    setLines([]);
  }
  useEffect(() => {
    const buffer = new LogBuffer();
    const ctrl = new AbortController();
    let scheduled = false;
    // Many messages can arrive per frame: render at most once per frame.
    const flush = () => {
      scheduled = false;
      if (!ctrl.signal.aborted) setLines(buffer.snapshot());
    };
    const onLines = () => {
      if (scheduled) return;
      scheduled = true;
      if (typeof requestAnimationFrame === "function" && !document.hidden) requestAnimationFrame(flush);
      else setTimeout(flush, 50);
    };
    void followLogs({ client, deploymentId, buffer, signal: ctrl.signal, onLines, onState: setState });
    return () => ctrl.abort();
  }, [client, deploymentId]);
  return { lines, state };
}

function stateText(s: FollowState): { text: string; tone: "live" | "wait" | "bad" } {
  switch (s.kind) {
    case "connecting":
      return { text: "Connecting…", tone: "wait" };
    case "live":
      return { text: "Live", tone: "live" };
    case "ended":
      return { text: `${statusLabel(s.finalStatus)}; following for new lines`, tone: "wait" };
    case "reconnecting":
      return { text: `Connection lost, reconnecting (attempt ${s.attempt})…`, tone: "bad" };
    case "error":
      return { text: "Not following", tone: "bad" };
  }
}

function ToggleChip({ pressed, onClick, children }: { pressed: boolean; onClick: () => void; children: React.ReactNode }) {
  return (
    <button
      type="button"
      aria-pressed={pressed}
      onClick={onClick}
      className={cn(
        "rounded-md border px-2 py-1 text-xs font-medium focus-visible:outline-2 focus-visible:outline-ring cursor-pointer",
        pressed ? "border-primary bg-primary/10 text-foreground" : "text-muted-foreground hover:bg-muted",
      )}
    >
      {children}
    </button>
  );
}

/** DisplayRow is one screen row: a log line, or one line of a multi-line entry. */
export interface DisplayRow {
  e: LogEntry;
  text: string;
  /** A continuation of the entry's previous row. */
  cont: boolean;
  key: string;
}

const rowsOf = new WeakMap<LogEntry, DisplayRow[]>();

/**
 * toRows gives every row the same height, so the virtualizer never has to
 * measure: an entry holding newlines (the platform's own multi-line
 * messages) becomes several rows.
 */
export function toRows(lines: readonly LogEntry[]): DisplayRow[] {
  const out: DisplayRow[] = [];
  for (const e of lines) {
    let rows = rowsOf.get(e);
    if (!rows) {
      const seq = e.seq.toString();
      rows = e.text.includes("\n")
        ? e.text.split("\n").map((text, i) => ({ e, text, cont: i > 0, key: `${seq}.${i}` }))
        : [{ e, text: e.text, cont: false, key: seq }];
      rowsOf.set(e, rows);
    }
    for (const r of rows) out.push(r);
  }
  return out;
}

const LogRow = memo(function LogRow({ row, query }: { row: DisplayRow; query: string }) {
  const { e, cont } = row;
  const stderr = e.stream === LogStream.STDERR;
  const system = e.stream === LogStream.SYSTEM;
  return (
    <div className="flex h-5 w-max min-w-full items-center gap-3 px-3 leading-5 hover:bg-white/5" data-seq={cont ? undefined : e.seq.toString()}>
      <span className="w-16 shrink-0 select-none text-zinc-500">{cont ? "" : formatTime(toDate(e.time))}</span>
      <span
        className={cn(
          "w-12 shrink-0 select-none text-[10px] uppercase tracking-wide",
          e.phase === LogPhase.BUILD ? "text-amber-400/80" : "text-sky-400/80",
        )}
      >
        {cont ? "" : e.phase === LogPhase.BUILD ? "build" : e.phase === LogPhase.RUN ? `run${e.replica ? ` ${e.replica}` : ""}` : ""}
      </span>
      <span className={cn("whitespace-pre", stderr && "text-red-300", system && "text-violet-300 italic")}>
        <AnsiText text={row.text} query={query} />
        {e.truncated && !cont && <span className="text-zinc-500"> [line cut at 16 KiB]</span>}
      </span>
    </div>
  );
});

interface LogViewProps {
  deploymentId: string;
  deploymentName: string;
}

/**
 * LogView is the live, virtualized log tail: filters, search, pause and
 * resume of auto-scroll, download.
 */
export function LogView({ deploymentId, deploymentName }: LogViewProps) {
  const { lines, state } = useLogFollower(deploymentId);
  const { token } = useSession();
  const [phase, setPhase] = useState<PhaseFilter>("all");
  const [streams, setStreams] = useState<StreamFilter>({ stdout: true, stderr: true, system: true });
  const [query, setQuery] = useState("");
  const [follow, setFollow] = useState(true);
  const [downloadError, setDownloadError] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const lastScrollTop = useRef(0);

  const visible = useMemo(() => filterLines(lines, phase, streams, query), [lines, phase, streams, query]);
  const rows = useMemo(() => toRows(visible), [visible]);
  // The rule warns that React Compiler would skip this component because
  // useVirtualizer's methods cannot be memoized. Nothing here is compiled
  // (plugin-react runs without the compiler), and the virtualizer is only
  // read during this render, never handed to a memoized child.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (i) => rows[i]?.key ?? i,
    overscan: 30,
  });

  // Following: keep the view at the very end.
  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    const el = scroller.current;
    if (follow && el) {
      el.scrollTop = el.scrollHeight;
      lastScrollTop.current = el.scrollTop;
    }
  }, [follow, rows.length, totalSize]);

  // Scrolling up pauses following; scrolling back to the end resumes it.
  const onScroll = useCallback(() => {
    const el = scroller.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 2;
    setFollow((f) => (f && !atEnd ? false : !f && atEnd ? true : f));
  }, []);
  const onScrollEvent = () => {
    const el = scroller.current;
    if (!el) return;
    // Only a scroll upward by the user pauses; programmatic scrolls go down.
    if (el.scrollTop < lastScrollTop.current - 2) onScroll();
    else if (!follow) onScroll();
    lastScrollTop.current = el.scrollTop;
  };

  const download = async () => {
    setDownloadError(null);
    try {
      // A plain HTTP endpoint (not an RPC): GET with the same bearer token.
      const res = await fetch(`/api/deployments/${encodeURIComponent(deploymentId)}/logs.txt`, {
        headers: token ? { Authorization: `Bearer ${token}` } : {},
      });
      if (!res.ok) throw new Error(`the server answered ${res.status} ${res.statusText}`.trim());
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = `${deploymentName}-logs.txt`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setDownloadError(`Download failed: ${describeError(err)}`);
    }
  };

  const st = stateText(state);
  const items = virtualizer.getVirtualItems();

  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <div className="flex items-center gap-1" role="group" aria-label="Phase">
          {(["all", "build", "run"] as const).map((p) => (
            <ToggleChip key={p} pressed={phase === p} onClick={() => setPhase(p)}>
              {p === "all" ? "All" : p === "build" ? "Build" : "Run"}
            </ToggleChip>
          ))}
        </div>
        <div className="flex items-center gap-1" role="group" aria-label="Streams">
          <ToggleChip pressed={streams.stdout} onClick={() => setStreams((s) => ({ ...s, stdout: !s.stdout }))}>
            stdout
          </ToggleChip>
          <ToggleChip pressed={streams.stderr} onClick={() => setStreams((s) => ({ ...s, stderr: !s.stderr }))}>
            stderr
          </ToggleChip>
          <ToggleChip pressed={streams.system} onClick={() => setStreams((s) => ({ ...s, system: !s.system }))}>
            system
          </ToggleChip>
        </div>
        <div className="relative min-w-40 flex-1">
          <Search className="pointer-events-none absolute left-2.5 top-2.5 size-4 text-muted-foreground" aria-hidden />
          <Input
            type="search"
            placeholder="Search logs"
            aria-label="Search logs"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            className="pl-8"
          />
        </div>
        <Button variant="outline" size="sm" onClick={() => setFollow((f) => !f)} aria-pressed={!follow}>
          {follow ? (
            <>
              <Pause /> Pause
            </>
          ) : (
            <>
              <Play /> Resume
            </>
          )}
        </Button>
        <Button variant="outline" size="sm" onClick={() => void download()}>
          <Download /> Download
        </Button>
      </div>
      {downloadError && <Alert>{downloadError}</Alert>}
      {state.kind === "error" && <Alert>Logs cannot be followed: {describeError(state.error)}</Alert>}
      <div className="relative overflow-hidden rounded-lg border bg-log-bg text-log-fg">
        <div className="flex items-center justify-between gap-2 border-b border-white/10 px-3 py-1.5 text-xs text-zinc-400">
          <span className="flex items-center gap-1.5" role="status" data-log-state={state.kind}>
            <span
              className={cn(
                "size-2 rounded-full",
                st.tone === "live" && "bg-emerald-400",
                st.tone === "wait" && "bg-zinc-400",
                st.tone === "bad" && "bg-red-400",
              )}
              aria-hidden
            />
            {st.text}
          </span>
          <span data-testid="log-count">
            {visible.length === lines.length
              ? `${lines.length.toLocaleString()} lines`
              : `${visible.length.toLocaleString()} of ${lines.length.toLocaleString()} lines`}
          </span>
        </div>
        <div
          ref={scroller}
          onScroll={onScrollEvent}
          className="h-[28rem] overflow-auto font-mono text-xs sm:h-[32rem]"
          role="log"
          aria-label={`Logs of ${deploymentName}`}
          aria-live="off"
          tabIndex={0}
          data-testid="log-scroller"
        >
          {visible.length === 0 ? (
            <p className="p-4 text-zinc-400">
              {lines.length === 0 ? (state.kind === "connecting" ? "Loading logs…" : "No log lines yet.") : "No lines match the filters."}
            </p>
          ) : (
            <div style={{ height: virtualizer.getTotalSize(), position: "relative", minWidth: "100%" }}>
              <div style={{ position: "absolute", top: 0, left: 0, minWidth: "100%", transform: `translateY(${items[0]?.start ?? 0}px)` }}>
                {items.map((item) => {
                  const row = rows[item.index];
                  return row ? <LogRow key={item.key} row={row} query={query.trim()} /> : null;
                })}
              </div>
            </div>
          )}
        </div>
        {!follow && visible.length > 0 && (
          <Button size="sm" className="absolute bottom-3 right-4 shadow-lg" onClick={() => setFollow(true)}>
            <ArrowDownToLine /> Jump to latest
          </Button>
        )}
      </div>
    </div>
  );
}
