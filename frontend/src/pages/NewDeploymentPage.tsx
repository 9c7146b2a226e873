import { useMutation } from "@connectrpc/connect-query";
import { Archive, FilePlus, Rocket, X } from "lucide-react";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router";
import { CodeEditor } from "@/components/CodeEditor";
import { EnvEditor, type EnvRow, rowsToEnv } from "@/components/EnvEditor";
import { SourceDropZone } from "@/components/SourceDropZone";
import { FieldError } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DeploymentService, Runtime } from "@/gen/coderunner/v1/deployment_pb";
import { cn } from "@/lib/cn";
import { type FormErrors, formErrors } from "@/lib/errors";
import { useCurrentProject } from "@/lib/projects";
import {
  type DraftArchive,
  type DraftFile,
  encodeContent,
  mergeFiles,
  normalizePath,
} from "@/lib/files";
import { formatBytes, runtimeLabel } from "@/lib/format";
import { type Starter, starters } from "@/lib/starters";

const FIELDS = ["name", "runtime", "files", "archive", "env", "replicas", "limits"] as const;
const NAME_PATTERN = /^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$/;

function RuntimePicker({ value, onChange }: { value: Runtime; onChange: (r: Runtime) => void }) {
  const options = [Runtime.UNSPECIFIED, Runtime.NODEJS, Runtime.MANIFEST];
  return (
    <div role="radiogroup" aria-label="Runtime" className="flex flex-wrap gap-2">
      {options.map((r) => (
        <label
          key={r}
          className={cn(
            "flex cursor-pointer items-center gap-2 rounded-md border px-3 py-1.5 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-ring",
            value === r ? "border-primary bg-primary/10 font-medium" : "hover:bg-muted",
          )}
        >
          <input type="radio" name="runtime" className="sr-only" checked={value === r} onChange={() => onChange(r)} />
          {runtimeLabel(r)}
        </label>
      ))}
    </div>
  );
}

function StarterPicker({ onPick }: { onPick: (s: Starter) => void }) {
  return (
    <div className="grid gap-3 sm:grid-cols-3">
      {starters.map((s) => (
        <button
          key={s.id}
          type="button"
          onClick={() => onPick(s)}
          className="rounded-lg border bg-card p-3 text-left transition-colors hover:border-primary hover:bg-primary/5 focus-visible:outline-2 focus-visible:outline-ring cursor-pointer"
          data-starter={s.id}
        >
          <span className="block text-sm font-medium">{s.title}</span>
          <span className="block text-xs text-muted-foreground">{s.description}</span>
          <span className="mt-1 block text-xs text-muted-foreground">{s.files.map((f) => f.path).join(", ")}</span>
        </button>
      ))}
    </div>
  );
}

/** NewDeploymentPage gathers source, name, runtime and env, and deploys. */
export default function NewDeploymentPage() {
  const navigate = useNavigate();
  const create = useMutation(DeploymentService.method.createDeployment);
  const { current: project } = useCurrentProject();
  const [name, setName] = useState("");
  const [runtime, setRuntime] = useState<Runtime>(Runtime.UNSPECIFIED);
  const [files, setFiles] = useState<DraftFile[]>([]);
  const [archive, setArchive] = useState<DraftArchive | null>(null);
  const [active, setActive] = useState<string | null>(null);
  const [env, setEnv] = useState<EnvRow[]>([]);
  const [newFile, setNewFile] = useState("");
  const [errors, setErrors] = useState<FormErrors>({ fields: {}, general: [] });

  const activeFile = files.find((f) => f.path === active) ?? files[0];

  const addFiles = (incoming: DraftFile[]) => {
    if (incoming.length === 0) return;
    setArchive(null);
    setFiles((cur) => mergeFiles(cur, incoming));
    setActive(incoming[0]?.path ?? null);
  };

  const pickStarter = (s: Starter) => {
    setArchive(null);
    setFiles(s.files.map((f) => ({ path: f.path, content: f.content })));
    setActive(s.files.find((f) => !f.path.endsWith("package-lock.json"))?.path ?? null);
    setRuntime(s.runtime);
    setName((n) => n || s.name);
    setErrors({ fields: {}, general: [] });
  };

  const takeArchive = (a: DraftArchive) => {
    setArchive(a);
    setFiles([]);
  };

  const addNewFile = () => {
    const path = normalizePath(newFile.trim());
    if (!path) return;
    addFiles([{ path, content: files.find((f) => f.path === path)?.content ?? "" }]);
    setNewFile("");
  };

  const removeFile = (path: string) => {
    setFiles((cur) => cur.filter((f) => f.path !== path));
    if (active === path) setActive(null);
  };

  const updateActive = (text: string) => {
    if (!activeFile) return;
    const path = activeFile.path;
    setFiles((cur) => cur.map((f) => (f.path === path ? { ...f, content: text } : f)));
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({ fields: {}, general: [] });
    if (!archive && files.length === 0) {
      setErrors({ fields: { files: ["Add some files, an archive, or pick an example."] }, general: [] });
      return;
    }
    try {
      const res = await create.mutateAsync({
        // Unset (no projects known) means the server's default project.
        projectId: project?.id ?? "",
        name: name.trim(),
        runtime,
        env: rowsToEnv(env),
        ...(archive
          ? { archive: archive.bytes }
          : { files: files.map((f) => ({ path: f.path, content: encodeContent(f.content) })) }),
      });
      const id = res.deployment?.id;
      if (id) void navigate(`/deployments/${id}`);
      else void navigate("/");
    } catch (err) {
      setErrors(formErrors(err, FIELDS));
    }
  };

  const nameHint = name && !NAME_PATTERN.test(name);

  return (
    <form onSubmit={onSubmit} className="grid gap-6" noValidate>
      <div>
        <h1 className="text-2xl font-semibold">New deployment</h1>
        <p className="text-sm text-muted-foreground">Hand over a Node.js project or a manifest.yaml; it builds and runs at its own URL.</p>
        {project && (
          <p className="text-sm text-muted-foreground" data-testid="target-project">
            Deploys into project <span className="font-medium text-foreground">{project.name}</span> (switch it in the header).
          </p>
        )}
      </div>

      <Card>
        <CardHeader>
          <CardTitle>Start from an example</CardTitle>
          <CardDescription>One click fills the files below; edit them before deploying.</CardDescription>
        </CardHeader>
        <CardContent>
          <StarterPicker onPick={pickStarter} />
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Basics</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-4 sm:grid-cols-2">
          <div className="grid content-start gap-1.5">
            <Label htmlFor="name">Name</Label>
            <Input
              id="name"
              value={name}
              onChange={(e) => setName(e.target.value.toLowerCase())}
              placeholder="my-app"
              autoComplete="off"
              spellCheck={false}
              aria-invalid={Boolean(errors.fields.name) || undefined}
              aria-describedby="name-help name-error"
            />
            <p id="name-help" className={cn("text-xs", nameHint ? "text-amber-700 dark:text-amber-300" : "text-muted-foreground")}>
              Lower-case letters, digits and hyphens, starting with a letter; it becomes part of the URL.
            </p>
            <FieldError id="name-error" messages={errors.fields.name} />
          </div>
          <div className="grid content-start gap-1.5">
            <span className="text-sm font-medium">Runtime</span>
            <RuntimePicker value={runtime} onChange={setRuntime} />
            <p className="text-xs text-muted-foreground">Auto-detect: manifest.yaml means a manifest API, package.json means Node.js.</p>
            <FieldError id="runtime-error" messages={errors.fields.runtime} />
          </div>
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Source</CardTitle>
          <CardDescription>Drop files, a folder, or a .zip/.tar.gz archive; or write files in the editor.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <SourceDropZone onFiles={addFiles} onArchive={takeArchive} />
          <FieldError id="files-error" messages={[...(errors.fields.files ?? []), ...(errors.fields.archive ?? [])]} />

          {archive ? (
            <div className="flex items-center justify-between gap-3 rounded-lg border p-3">
              <div className="flex min-w-0 items-center gap-2">
                <Archive className="size-5 shrink-0" aria-hidden />
                <span className="truncate font-mono text-sm">{archive.name}</span>
                <span className="text-xs text-muted-foreground">{formatBytes(archive.bytes.length)}, unpacked by the server</span>
              </div>
              <Button variant="ghost" size="icon" onClick={() => setArchive(null)} aria-label="Remove archive">
                <X />
              </Button>
            </div>
          ) : (
            <div className="grid gap-2">
              <div className="flex flex-wrap items-end gap-2">
                <div className="grid min-w-0 flex-1 gap-1.5">
                  <Label htmlFor="new-file">New file</Label>
                  <Input
                    id="new-file"
                    placeholder="index.js"
                    value={newFile}
                    onChange={(e) => setNewFile(e.target.value)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") {
                        e.preventDefault();
                        addNewFile();
                      }
                    }}
                    className="font-mono"
                    spellCheck={false}
                  />
                </div>
                <Button variant="outline" onClick={addNewFile} disabled={!newFile.trim()}>
                  <FilePlus /> Add
                </Button>
              </div>
              {files.length > 0 && activeFile ? (
                <div className="overflow-hidden rounded-lg border">
                  <div
                    role="tablist"
                    aria-label="Files"
                    className="flex overflow-x-auto border-b bg-muted/50"
                    onKeyDown={(e) => {
                      // Arrow keys move between file tabs (the WAI-ARIA tabs pattern).
                      if (e.key !== "ArrowRight" && e.key !== "ArrowLeft" && e.key !== "Home" && e.key !== "End") return;
                      const i = files.findIndex((f) => f.path === activeFile.path);
                      const next =
                        e.key === "Home" ? 0 : e.key === "End" ? files.length - 1 : (i + (e.key === "ArrowRight" ? 1 : -1) + files.length) % files.length;
                      const path = files[next]?.path;
                      if (!path) return;
                      e.preventDefault();
                      setActive(path);
                      e.currentTarget.querySelector<HTMLElement>(`[data-path="${CSS.escape(path)}"]`)?.focus();
                    }}
                  >
                    {files.map((f) => {
                      const selected = f.path === activeFile.path;
                      return (
                        <div
                          key={f.path}
                          className={cn(
                            "flex shrink-0 items-center border-r text-sm",
                            selected ? "bg-background font-medium" : "text-muted-foreground",
                          )}
                        >
                          <button
                            type="button"
                            role="tab"
                            aria-selected={selected}
                            tabIndex={selected ? 0 : -1}
                            data-path={f.path}
                            onClick={() => setActive(f.path)}
                            className="px-3 py-2 font-mono text-xs focus-visible:outline-2 focus-visible:outline-ring cursor-pointer"
                          >
                            {f.path}
                          </button>
                          <button
                            type="button"
                            onClick={() => removeFile(f.path)}
                            aria-label={`Remove ${f.path}`}
                            className="mr-1 rounded p-1 hover:bg-muted focus-visible:outline-2 focus-visible:outline-ring cursor-pointer"
                          >
                            <X className="size-3" />
                          </button>
                        </div>
                      );
                    })}
                  </div>
                  <div role="tabpanel" aria-label={activeFile.path} className="h-80 sm:h-96">
                    {typeof activeFile.content === "string" ? (
                      <CodeEditor
                        path={activeFile.path}
                        value={activeFile.content}
                        onChange={updateActive}
                        label={`Contents of ${activeFile.path}`}
                      />
                    ) : (
                      <p className="p-4 text-sm text-muted-foreground">
                        Binary file, {formatBytes(activeFile.content.length)}; it is deployed as is.
                      </p>
                    )}
                  </div>
                </div>
              ) : (
                <p className="text-sm text-muted-foreground">No files yet.</p>
              )}
            </div>
          )}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Environment variables</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-2">
          <EnvEditor rows={env} onChange={setEnv} />
          <FieldError id="env-error" messages={errors.fields.env} />
        </CardContent>
      </Card>

      {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
      {(errors.fields.replicas || errors.fields.limits) && (
        <Alert>{[...(errors.fields.replicas ?? []), ...(errors.fields.limits ?? [])].join("\n")}</Alert>
      )}
      <div className="flex justify-end gap-2">
        <Button type="submit" size="lg" disabled={create.isPending}>
          <Rocket /> {create.isPending ? "Deploying…" : "Deploy"}
        </Button>
      </div>
    </form>
  );
}
