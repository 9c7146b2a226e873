import { createClient } from "@connectrpc/connect";
import { useTransport } from "@connectrpc/connect-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { DatabaseService } from "@/gen/coderunner/v1/database_pb";
import { describeError } from "@/lib/errors";
import { ENGINES, type Engine } from "./engines";

/** saveBlob hands a blob to the browser as a download named filename. */
function saveBlob(blob: Blob, filename: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** ExportState is where an export is. */
export type ExportState =
  | { kind: "idle" }
  | { kind: "running"; bytes: number }
  | { kind: "done"; bytes: number; filename: string }
  | { kind: "error"; message: string };

/**
 * useExport streams ExportDatabase for one engine into a Blob and
 * downloads it under the engine's export name (`<name>.sql`,
 * `<name>-redis.jsonl`). The stream is aborted on unmount and when a new
 * export starts.
 */
export function useExport(deploymentId: string, name: string, engine: Engine) {
  const transport = useTransport();
  const client = useMemo(() => createClient(DatabaseService, transport), [transport]);
  const ctrl = useRef<AbortController | null>(null);
  const [state, setState] = useState<ExportState>({ kind: "idle" });
  useEffect(() => () => ctrl.current?.abort(), []);

  const run = async () => {
    ctrl.current?.abort();
    const c = new AbortController();
    ctrl.current = c;
    setState({ kind: "running", bytes: 0 });
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    let bytes = 0;
    try {
      for await (const res of client.exportDatabase({ deploymentId, engine }, { signal: c.signal })) {
        if (res.chunk.length === 0) continue;
        // A copy, typed as over a plain ArrayBuffer as Blob wants.
        chunks.push(new Uint8Array(res.chunk));
        bytes += res.chunk.length;
        setState({ kind: "running", bytes });
      }
      if (c.signal.aborted) return;
      const facts = ENGINES[engine];
      const filename = facts.exportName(name);
      saveBlob(new Blob(chunks, { type: facts.exportType }), filename);
      setState({ kind: "done", bytes, filename });
    } catch (err) {
      if (c.signal.aborted) return;
      setState({ kind: "error", message: `Export failed: ${describeError(err)}` });
    }
  };
  return { state, run };
}
