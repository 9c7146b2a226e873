import { Archive, FilePlus, FolderUp, Upload } from "lucide-react";
import { type DragEvent, useRef, useState } from "react";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { cn } from "@/lib/cn";
import { type DraftArchive, type DraftFile, isArchiveName, readDrop, readFiles } from "@/lib/files";

/**
 * SourceDropZone takes a deployment's source: files or a folder dropped or
 * picked (onFiles), or one .zip/.tar.gz archive (onArchive). What cannot be
 * read is said below it.
 */
export function SourceDropZone({
  onFiles,
  onArchive,
  label = "Drag and drop files, a folder or an archive here",
}: {
  onFiles: (files: DraftFile[]) => void;
  onArchive: (archive: DraftArchive) => void;
  label?: string;
}) {
  const [dragging, setDragging] = useState(false);
  const [readError, setReadError] = useState<string | null>(null);
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  const archiveInput = useRef<HTMLInputElement>(null);

  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    setReadError(null);
    try {
      const res = await readDrop(e.dataTransfer);
      if (res.kind === "archive") onArchive(res.archive);
      else if (res.files.length === 0) {
        // Text, links, or a folder holding only node_modules/.git: say so rather than do nothing.
        setReadError("Nothing to add from that drop: drop files, a folder, or a .zip/.tar.gz archive (node_modules and .git are skipped).");
      } else onFiles(res.files);
    } catch (err) {
      setReadError(`Could not read what was dropped: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const onPicked = async (list: FileList | null, asArchive: boolean) => {
    if (!list || list.length === 0) return;
    setReadError(null);
    const first = list[0];
    if (asArchive && first) {
      if (!isArchiveName(first.name)) {
        setReadError("Choose a .zip, .tar.gz, .tgz or .tar file.");
        return;
      }
      onArchive({ name: first.name, bytes: new Uint8Array(await first.arrayBuffer()) });
      return;
    }
    const files = await readFiles(Array.from(list));
    if (files.length > 0) onFiles(files);
  };

  return (
    <>
      <div
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => void onDrop(e)}
        className={cn(
          "flex flex-col items-center gap-3 rounded-lg border-2 border-dashed px-4 py-6 text-center text-sm text-muted-foreground",
          dragging && "border-primary bg-primary/5",
        )}
        data-testid="dropzone"
      >
        <Upload className="size-6" aria-hidden />
        <p>{label}</p>
        <div className="flex flex-wrap justify-center gap-2">
          <Button variant="outline" size="sm" onClick={() => filesInput.current?.click()}>
            <FilePlus /> Add files
          </Button>
          <Button variant="outline" size="sm" onClick={() => folderInput.current?.click()}>
            <FolderUp /> Add folder
          </Button>
          <Button variant="outline" size="sm" onClick={() => archiveInput.current?.click()}>
            <Archive /> Upload archive
          </Button>
        </div>
        <input ref={filesInput} type="file" multiple hidden onChange={(e) => void onPicked(e.target.files, false)} data-testid="files-input" />
        <input
          ref={folderInput}
          type="file"
          hidden
          {...{ webkitdirectory: "", directory: "" }}
          onChange={(e) => void onPicked(e.target.files, false)}
        />
        <input
          ref={archiveInput}
          type="file"
          accept=".zip,.tar.gz,.tgz,.tar,application/zip,application/gzip"
          hidden
          onChange={(e) => void onPicked(e.target.files, true)}
          data-testid="archive-input"
        />
      </div>
      {readError && <Alert>{readError}</Alert>}
    </>
  );
}
