import { useMutation } from "@connectrpc/connect-query";
import { Download, KeyRound, Upload } from "lucide-react";
import { type ChangeEvent, useRef, useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { type Database, DatabaseService } from "@/gen/coderunner/v1/database_pb";
import { type Deployment, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { describeError } from "@/lib/errors";
import { formatBytes } from "@/lib/format";
import { DeleteDatabaseButton } from "./DeleteDatabaseButton";
import { ENGINES, type Engine } from "./engines";
import { useExport } from "./useExport";

/** DatabaseProps names one of a deployment's databases, and what to do once it changed. */
export interface DatabaseProps {
  deployment: Deployment;
  database: Database;
  /** The database's engine, which every call names. */
  engine: Engine;
  onChanged: () => void;
}

/**
 * DatabaseActions exports, imports, rotates and deletes one database,
 * each call naming its engine, and says how each went.
 */
export function DatabaseActions({ deployment: d, database: db, engine, onChanged }: DatabaseProps) {
  const rotate = useMutation(DatabaseService.method.rotateDatabaseCredentials);
  const del = useMutation(DatabaseService.method.deleteDatabase);
  const imp = useMutation(DatabaseService.method.importDatabase);
  const exp = useExport(d.id, d.name, engine);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const facts = ENGINES[engine];
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  const busy = rotate.isPending || del.isPending || imp.isPending;
  const exporting = exp.state.kind === "running";
  const target = { deploymentId: d.id, engine };

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
      await imp.mutateAsync({ ...target, sql });
      setDone(`Imported ${file.name}.`);
      onChanged();
    } catch (err) {
      setError(`Import of ${file.name} failed: ${describeError(err)}`);
    }
  };

  return (
    <>
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
          Exported {formatBytes(exp.state.bytes)} as {exp.state.filename}.
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
          accept={facts.importAccept}
          className="sr-only"
          tabIndex={-1}
          aria-label={facts.importLabel}
          onChange={(e) => void onFile(e)}
        />
        <ConfirmButton
          variant="outline"
          size="sm"
          disabled={busy || destroyed}
          title={`Rotate the ${facts.label} credentials?`}
          description={facts.rotateExplained}
          confirmLabel="Rotate credentials"
          onConfirm={() => {
            start();
            rotate.mutate(target, {
              onSuccess: (res) => {
                setDone(`New credentials: the app now connects as ${res.database?.user ?? "a new user"}.`);
                onChanged();
              },
              onError: (err) => setError(describeError(err)),
            });
          }}
        >
          <KeyRound /> Rotate credentials
        </ConfirmButton>
        <DeleteDatabaseButton
          engine={engine}
          name={db.name}
          disabled={busy || destroyed}
          exporting={exporting}
          onExport={() => void exp.run()}
          onDelete={() => {
            start();
            del.mutate(target, { onSuccess: onChanged, onError: (err) => setError(describeError(err)) });
          }}
        />
      </div>
    </>
  );
}
