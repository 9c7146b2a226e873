import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { Archive, Hammer, Upload, X } from "lucide-react";
import { useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { SourceDropZone } from "@/components/SourceDropZone";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { type Deployment, DeploymentService, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { describeError } from "@/lib/errors";
import { type DraftArchive, type DraftFile, encodeContent } from "@/lib/files";
import { formatBytes } from "@/lib/format";

/** A new source waiting to be sent: files, or one archive. */
type NewSource = { kind: "files"; files: DraftFile[] } | { kind: "archive"; archive: DraftArchive };

/** How many file names the summary of a new source lists. */
const SHOWN_FILES = 5;

/**
 * RedeployPanel builds and starts a new revision: from the stored source,
 * or from new files or an archive dropped here. For a manifest app the
 * server refuses a change it cannot migrate safely, and the running
 * revision keeps serving; the reason is shown.
 */
export function RedeployPanel({ deployment: d, onChanged }: { deployment: Deployment; onChanged: (d: Deployment | undefined) => void }) {
  const queryClient = useQueryClient();
  const redeploy = useMutation(DeploymentService.method.redeployDeployment);
  const [next, setNext] = useState<NewSource | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [started, setStarted] = useState<bigint | null>(null);
  const destroyed = d.status === DeploymentStatus.DESTROYED;

  const send = (source: NewSource | null) => {
    setError(null);
    setStarted(null);
    const body =
      source === null
        ? {}
        : source.kind === "archive"
          ? { archive: source.archive.bytes }
          : { files: source.files.map((f) => ({ path: f.path, content: encodeContent(f.content) })) };
    redeploy.mutate(
      { id: d.id, ...body },
      {
        onSuccess: (res) => {
          onChanged(res.deployment);
          setNext(null);
          setStarted(res.deployment?.revision ?? null);
          void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
        },
        onError: (err) => setError(describeError(err)),
      },
    );
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>Redeploy</CardTitle>
        <CardDescription>
          Build and start a new revision, from the stored source or from new files. Unchanged dependencies are reused.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <div>
          <ConfirmButton
            variant="outline"
            disabled={redeploy.isPending || destroyed}
            title={`Redeploy ${d.name}?`}
            description="The current revision keeps serving until the new one is built and ready."
            confirmLabel="Redeploy"
            onConfirm={() => send(null)}
          >
            <Hammer /> Redeploy
          </ConfirmButton>
        </div>
        {!destroyed && (
          <div className="grid gap-2">
            <p className="text-sm font-medium">New source</p>
            <SourceDropZone
              label="Drop the new version's files, folder or archive here; it replaces the whole source"
              onFiles={(files) => setNext({ kind: "files", files })}
              onArchive={(archive) => setNext({ kind: "archive", archive })}
            />
            {next && (
              <div className="flex flex-wrap items-center justify-between gap-3 rounded-lg border p-3" data-testid="new-source">
                <div className="flex min-w-0 items-center gap-2 text-sm">
                  {next.kind === "archive" ? (
                    <>
                      <Archive className="size-5 shrink-0" aria-hidden />
                      <span className="truncate font-mono">{next.archive.name}</span>
                      <span className="text-xs text-muted-foreground">{formatBytes(next.archive.bytes.length)}</span>
                    </>
                  ) : (
                    <span className="min-w-0 truncate">
                      {next.files.length} {next.files.length === 1 ? "file" : "files"}:{" "}
                      <span className="font-mono text-xs">
                        {next.files
                          .slice(0, SHOWN_FILES)
                          .map((f) => f.path)
                          .join(", ")}
                        {next.files.length > SHOWN_FILES && ", …"}
                      </span>
                    </span>
                  )}
                </div>
                <div className="flex gap-2">
                  <Button variant="ghost" size="sm" onClick={() => setNext(null)} aria-label="Clear the new source">
                    <X />
                  </Button>
                  <Button size="sm" disabled={redeploy.isPending} onClick={() => send(next)}>
                    <Upload /> {redeploy.isPending ? "Sending…" : "Redeploy with this source"}
                  </Button>
                </div>
              </div>
            )}
          </div>
        )}
        {started !== null && <RedeployProgress started={started} deployment={d} />}
        {error && <Alert>{error}</Alert>}
      </CardContent>
    </Card>
  );
}

/**
 * RedeployProgress follows the revision a redeploy started: being built,
 * live, or failed while the previous revision serves on (the server then
 * names the serving revision again and sets replacementFailed).
 */
function RedeployProgress({ started, deployment: d }: { started: bigint; deployment: Deployment }) {
  if (d.replacementFailed && d.revision !== started) {
    return (
      <p role="status" className="text-sm text-amber-800 dark:text-amber-200">
        Revision {started.toString()} failed; revision {d.revision.toString()} serves on. The reason is shown above.
      </p>
    );
  }
  if (d.status === DeploymentStatus.RUNNING && d.revision === started) {
    return (
      <p role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
        Revision {started.toString()} is live.
      </p>
    );
  }
  return (
    <p role="status" className="text-sm text-emerald-700 dark:text-emerald-300">
      Revision {started.toString()} is being built; follow it in the logs.
    </p>
  );
}
