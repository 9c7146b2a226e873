import { createClient } from "@connectrpc/connect";
import { useMutation, useQuery, useTransport } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { Copy, Database as DatabaseIcon, Download, KeyRound, Trash2, Upload } from "lucide-react";
import type * as React from "react";
import { type ChangeEvent, useEffect, useMemo, useRef, useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorState } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import {
  AlertDialog,
  AlertDialogAction,
  AlertDialogCancel,
  AlertDialogContent,
  AlertDialogDescription,
  AlertDialogFooter,
  AlertDialogTitle,
  AlertDialogTrigger,
} from "@/components/ui/alert-dialog";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { type Database, DatabaseEngine, DatabaseService } from "@/gen/coderunner/v1/database_pb";
import { type Deployment, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { describeError } from "@/lib/errors";
import { formatBytes, formatDateTime, timeAgo, toDate } from "@/lib/format";

/** What rotating does, said before it runs. */
export const ROTATE_EXPLAINED =
  "The app restarts with a new user and password in DATABASE_URL, without downtime. The old login is removed once no replica uses it.";

/** What deleting loses, said before it runs. */
export const DELETE_EXPLAINED =
  "It is dropped with everything in it: every table and row. This cannot be undone. A running app restarts without DATABASE_URL.";

function engineLabel(e: DatabaseEngine): string {
  return e === DatabaseEngine.POSTGRES ? "PostgreSQL" : "Unknown";
}

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

type ExportState = { kind: "idle" } | { kind: "running"; bytes: number } | { kind: "done"; bytes: number } | { kind: "error"; message: string };

/**
 * useExport streams ExportDatabase into a Blob and downloads it as
 * `<name>.sql`. The stream is aborted on unmount and when a new export
 * starts.
 */
function useExport(deploymentId: string, name: string) {
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
      for await (const res of client.exportDatabase({ deploymentId }, { signal: c.signal })) {
        if (res.chunk.length === 0) continue;
        // A copy, typed as over a plain ArrayBuffer as Blob wants.
        chunks.push(new Uint8Array(res.chunk));
        bytes += res.chunk.length;
        setState({ kind: "running", bytes });
      }
      if (c.signal.aborted) return;
      saveBlob(new Blob(chunks, { type: "application/sql" }), `${name}.sql`);
      setState({ kind: "done", bytes });
    } catch (err) {
      if (c.signal.aborted) return;
      setState({ kind: "error", message: `Export failed: ${describeError(err)}` });
    }
  };
  return { state, run };
}

function Meta({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="truncate text-sm">{children}</dd>
    </div>
  );
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  };
  return (
    <Button variant="outline" size="sm" aria-label={label} onClick={() => void copy()}>
      <Copy /> {copied === "yes" ? "Copied" : copied === "failed" ? "Copy failed" : "Copy"}
    </Button>
  );
}

function NoDatabase({ deployment: d, onCreated }: { deployment: Deployment; onCreated: () => void }) {
  const create = useMutation(DatabaseService.method.createDatabase);
  const [error, setError] = useState<string | null>(null);
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  return (
    <Card>
      <CardHeader>
        <CardTitle>No database</CardTitle>
        <CardDescription>
          A PostgreSQL database of this deployment&apos;s own. The app gets <code>DATABASE_URL</code> and the <code>PGHOST</code>,{" "}
          <code>PGPORT</code>, <code>PGUSER</code>, <code>PGPASSWORD</code> and <code>PGDATABASE</code> variables, reaching it at{" "}
          <code>127.0.0.1:5432</code> inside its sandbox. A running deployment restarts with them, without downtime.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {error && <Alert>{error}</Alert>}
        <div>
          <Button
            disabled={create.isPending || destroyed}
            onClick={() => {
              setError(null);
              create.mutate(
                { deploymentId: d.id, engine: DatabaseEngine.POSTGRES },
                { onSuccess: onCreated, onError: (err) => setError(describeError(err)) },
              );
            }}
          >
            <DatabaseIcon /> {create.isPending ? "Creating…" : "Create PostgreSQL database"}
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}

function DeleteDatabaseButton({
  name,
  disabled,
  exporting,
  onExport,
  onDelete,
}: {
  name: string;
  disabled: boolean;
  exporting: boolean;
  onExport: () => void;
  onDelete: () => void;
}) {
  return (
    <AlertDialog>
      <AlertDialogTrigger asChild>
        <Button variant="destructive" size="sm" disabled={disabled}>
          <Trash2 /> Delete
        </Button>
      </AlertDialogTrigger>
      <AlertDialogContent>
        <AlertDialogTitle>Delete the database?</AlertDialogTitle>
        <AlertDialogDescription>
          <code className="break-all">{name}</code>: {DELETE_EXPLAINED} Export it first to keep a copy.
        </AlertDialogDescription>
        <AlertDialogFooter className="sm:flex-wrap">
          <AlertDialogCancel>Cancel</AlertDialogCancel>
          <Button variant="outline" onClick={onExport} disabled={exporting}>
            <Download /> {exporting ? "Exporting…" : "Export first"}
          </Button>
          <AlertDialogAction destructive onClick={onDelete}>
            Delete database
          </AlertDialogAction>
        </AlertDialogFooter>
      </AlertDialogContent>
    </AlertDialog>
  );
}

function DatabaseCard({ deployment: d, database: db, onChanged }: { deployment: Deployment; database: Database; onChanged: () => void }) {
  const rotate = useMutation(DatabaseService.method.rotateDatabaseCredentials);
  const del = useMutation(DatabaseService.method.deleteDatabase);
  const imp = useMutation(DatabaseService.method.importDatabase);
  const exp = useExport(d.id, d.name);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  const busy = rotate.isPending || del.isPending || imp.isPending;
  const created = toDate(db.createdAt);
  const exporting = exp.state.kind === "running";

  const start = () => {
    setError(null);
    setDone(null);
  };

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const input = e.currentTarget;
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    start();
    try {
      const sql = new Uint8Array(await file.arrayBuffer());
      await imp.mutateAsync({ deploymentId: d.id, sql });
      setDone(`Imported ${file.name}.`);
      onChanged();
    } catch (err) {
      setError(`Import of ${file.name} failed: ${describeError(err)}`);
    }
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>{engineLabel(db.engine)} database</CardTitle>
        <CardDescription>
          The app reaches it as <code>DATABASE_URL</code> (and <code>PG*</code> variables) at <code>127.0.0.1:5432</code> inside its sandbox.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3" aria-label="Database">
          <Meta label="Engine">{engineLabel(db.engine)}</Meta>
          <Meta label="Name">
            <code data-testid="database-name">{db.name}</code>
          </Meta>
          <Meta label="User">
            <code data-testid="database-user">{db.user}</code>
          </Meta>
          <Meta label="Size">{formatBytes(db.sizeBytes)}</Meta>
          <Meta label="Connections">
            {db.connections} of {db.connectionLimit}
          </Meta>
          <Meta label="Created">
            <time dateTime={created?.toISOString()} title={formatDateTime(created)}>
              {timeAgo(created)}
            </time>
          </Meta>
        </dl>
        <div className="grid gap-1">
          <span className="text-xs text-muted-foreground" id="database-url-label">
            DATABASE_URL (the password is never shown)
          </span>
          <div className="flex items-center gap-2">
            <code className="min-w-0 flex-1 truncate rounded-md border bg-muted px-2 py-1.5 text-xs" aria-labelledby="database-url-label" data-testid="database-url">
              {db.url}
            </code>
            <CopyButton text={db.url} label="Copy DATABASE_URL" />
          </div>
        </div>
        {error && <Alert className="whitespace-pre-wrap">{error}</Alert>}
        {exp.state.kind === "error" && <Alert>{exp.state.message}</Alert>}
        {done && (
          <p role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
            {done}
          </p>
        )}
        {exp.state.kind === "running" && (
          <p role="status" className="text-sm text-muted-foreground">
            Exporting… {formatBytes(exp.state.bytes)}
          </p>
        )}
        {exp.state.kind === "done" && (
          <p role="status" className="text-sm text-muted-foreground">
            Exported {formatBytes(exp.state.bytes)} as {d.name}.sql.
          </p>
        )}
        <div className="flex flex-wrap gap-2">
          <Button variant="outline" size="sm" onClick={() => void exp.run()} disabled={exporting}>
            <Download /> {exporting ? "Exporting…" : "Export"}
          </Button>
          <Button variant="outline" size="sm" onClick={() => fileInput.current?.click()} disabled={busy || destroyed}>
            <Upload /> {imp.isPending ? "Importing…" : "Import"}
          </Button>
          <input
            ref={fileInput}
            type="file"
            accept=".sql,application/sql,text/plain"
            className="sr-only"
            tabIndex={-1}
            aria-label="SQL file to import"
            onChange={(e) => void onFile(e)}
          />
          <ConfirmButton
            variant="outline"
            size="sm"
            disabled={busy || destroyed}
            title="Rotate the database credentials?"
            description={ROTATE_EXPLAINED}
            confirmLabel="Rotate credentials"
            onConfirm={() => {
              start();
              rotate.mutate(
                { deploymentId: d.id },
                {
                  onSuccess: (res) => {
                    setDone(`New credentials: the app now connects as ${res.database?.user ?? "a new user"}.`);
                    onChanged();
                  },
                  onError: (err) => setError(describeError(err)),
                },
              );
            }}
          >
            <KeyRound /> Rotate credentials
          </ConfirmButton>
          <DeleteDatabaseButton
            name={db.name}
            disabled={busy || destroyed}
            exporting={exporting}
            onExport={() => void exp.run()}
            onDelete={() => {
              start();
              del.mutate({ deploymentId: d.id }, { onSuccess: onChanged, onError: (err) => setError(describeError(err)) });
            }}
          />
        </div>
      </CardContent>
    </Card>
  );
}

/**
 * DatabasePanel shows a deployment's database, or offers to create one:
 * its details, the redacted DATABASE_URL, export, import, credential
 * rotation and delete. The password is never shown: no RPC returns it.
 */
export function DatabasePanel({ deployment: d }: { deployment: Deployment }) {
  const queryClient = useQueryClient();
  const q = useQuery(DatabaseService.method.listDatabases, { deploymentId: d.id });
  // A database change is also a release and a restart: refresh everything.
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["connect-query"] });

  if (q.isPending) return <ListSkeleton />;
  if (q.error) return <ErrorState title="Could not load the database" error={q.error} onRetry={() => void q.refetch()} />;
  const db = q.data.databases[0];
  if (!db) return <NoDatabase deployment={d} onCreated={refresh} />;
  return <DatabaseCard deployment={d} database={db} onChanged={refresh} />;
}
