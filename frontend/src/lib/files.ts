// Source files gathered in the browser: typed in the editor, dropped as
// files or folders, or picked with a file input. Archives are sent whole.

/** DraftFile is one file of the source tree being prepared. */
export interface DraftFile {
  path: string;
  /** Text when the file is UTF-8 (editable), else the raw bytes. */
  content: string | Uint8Array;
}

/** DraftArchive is a .zip or .tar.gz sent as-is; the server unpacks it. */
export interface DraftArchive {
  name: string;
  bytes: Uint8Array;
}

const IGNORED_DIRS = new Set(["node_modules", ".git"]);
const IGNORED_FILES = new Set([".DS_Store", "Thumbs.db"]);

export function isArchiveName(name: string): boolean {
  return /\.(zip|tar\.gz|tgz|tar)$/i.test(name);
}

/** isIgnoredPath skips dependency and VCS folders, which the build recreates. */
export function isIgnoredPath(path: string): boolean {
  const parts = path.split("/");
  if (parts.some((p) => IGNORED_DIRS.has(p))) return true;
  return IGNORED_FILES.has(parts[parts.length - 1] ?? "");
}

/** normalizePath makes a relative path with forward slashes. */
export function normalizePath(path: string): string {
  return path
    .replace(/\\/g, "/")
    .split("/")
    .filter((p) => p !== "" && p !== ".")
    .join("/");
}

/** stripCommonRoot removes a single folder that contains every file (a dropped folder). */
export function stripCommonRoot<T extends { path: string }>(files: T[]): T[] {
  if (files.length === 0) return files;
  const first = files[0]?.path.split("/")[0] ?? "";
  if (!first || !files.every((f) => f.path.startsWith(`${first}/`))) return files;
  return files.map((f) => ({ ...f, path: f.path.slice(first.length + 1) }));
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** decodeContent keeps text as a string and anything else as bytes. */
export function decodeContent(bytes: Uint8Array): string | Uint8Array {
  if (bytes.includes(0)) return bytes;
  try {
    return decoder.decode(bytes);
  } catch {
    return bytes;
  }
}

export function encodeContent(content: string | Uint8Array): Uint8Array {
  return typeof content === "string" ? new TextEncoder().encode(content) : content;
}

async function readBytes(file: Blob): Promise<Uint8Array> {
  return new Uint8Array(await file.arrayBuffer());
}

/** readFiles reads picked files (a folder picker sets webkitRelativePath). */
export async function readFiles(list: Iterable<File>): Promise<DraftFile[]> {
  const out: DraftFile[] = [];
  for (const f of list) {
    const path = normalizePath(f.webkitRelativePath || f.name);
    if (!path || isIgnoredPath(path)) continue;
    out.push({ path, content: decodeContent(await readBytes(f)) });
  }
  return stripCommonRoot(out);
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function readDirectory(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader();
  const all: FileSystemEntry[] = [];
  // readEntries returns at most ~100 entries per call; read until empty.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, prefix: string, out: DraftFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (isIgnoredPath(path)) return;
  if (entry.isFile) {
    const file = await entryFile(entry as FileSystemFileEntry);
    out.push({ path, content: decodeContent(await readBytes(file)) });
  } else if (entry.isDirectory) {
    for (const child of await readDirectory(entry as FileSystemDirectoryEntry)) await walk(child, path, out);
  }
}

/** DropResult is either a single archive or a set of files. */
export type DropResult = { kind: "archive"; archive: DraftArchive } | { kind: "files"; files: DraftFile[] };

/** readDrop reads what was dropped: one archive, or files and folders. */
export async function readDrop(dt: DataTransfer): Promise<DropResult> {
  const files = Array.from(dt.files);
  const only = files[0];
  if (files.length === 1 && only && isArchiveName(only.name)) {
    return { kind: "archive", archive: { name: only.name, bytes: await readBytes(only) } };
  }
  const entries = Array.from(dt.items)
    .map((item) => (item.kind === "file" && typeof item.webkitGetAsEntry === "function" ? item.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return { kind: "files", files: await readFiles(files) };
  const out: DraftFile[] = [];
  for (const e of entries) await walk(e, "", out);
  return { kind: "files", files: stripCommonRoot(out) };
}

/** mergeFiles adds incoming files, replacing those with the same path. */
export function mergeFiles(current: DraftFile[], incoming: DraftFile[]): DraftFile[] {
  const byPath = new Map(current.map((f) => [f.path, f]));
  for (const f of incoming) byPath.set(f.path, f);
  return [...byPath.values()].sort((a, b) => a.path.localeCompare(b.path));
}
