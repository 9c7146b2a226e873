import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { FolderPlus, Settings2, Trash2 } from "lucide-react";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorState, FieldError } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { type Project, ProjectService } from "@/gen/coderunner/v1/project_pb";
import { type FormErrors, describeError, formErrors } from "@/lib/errors";
import { timeAgo, toDate } from "@/lib/format";
import { useCurrentProject } from "@/lib/projects";

const noErrors: FormErrors = { fields: {}, general: [] };

function CreateProjectForm({ onCreated }: { onCreated: (p: Project) => void }) {
  const create = useMutation(ProjectService.method.createProject);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [errors, setErrors] = useState<FormErrors>(noErrors);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors(noErrors);
    try {
      const res = await create.mutateAsync({ name: name.trim(), description: description.trim() });
      setName("");
      setDescription("");
      if (res.project) onCreated(res.project);
    } catch (err) {
      setErrors(formErrors(err, ["name", "description"]));
    }
  };

  return (
    <form onSubmit={onSubmit} noValidate className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_minmax(0,2fr)_auto] sm:items-start">
      <div className="grid gap-1.5">
        <Label htmlFor="project-name">Name</Label>
        <Input
          id="project-name"
          value={name}
          onChange={(e) => setName(e.target.value.toLowerCase())}
          placeholder="shop"
          autoComplete="off"
          spellCheck={false}
          aria-invalid={Boolean(errors.fields.name) || undefined}
          aria-describedby="project-name-error"
        />
        <FieldError id="project-name-error" messages={errors.fields.name} />
      </div>
      <div className="grid gap-1.5">
        <Label htmlFor="project-description">Description</Label>
        <Input
          id="project-description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          placeholder="Optional"
          aria-invalid={Boolean(errors.fields.description) || undefined}
          aria-describedby="project-description-error"
        />
        <FieldError id="project-description-error" messages={errors.fields.description} />
      </div>
      <Button type="submit" className="sm:mt-5.5" disabled={create.isPending || !name.trim()}>
        <FolderPlus /> {create.isPending ? "Creating…" : "Create project"}
      </Button>
      {errors.general.length > 0 && <Alert className="sm:col-span-3">{errors.general.join("\n")}</Alert>}
    </form>
  );
}

function ProjectRow({ project: p, current, onSelect }: { project: Project; current: boolean; onSelect: () => void }) {
  const queryClient = useQueryClient();
  const del = useMutation(ProjectService.method.deleteProject);
  const [error, setError] = useState<string | null>(null);
  const count = p.deploymentCount;
  return (
    <li className="grid gap-2 px-4 py-3" data-project={p.name}>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <div className="grid min-w-0 gap-0.5">
          <div className="flex flex-wrap items-center gap-2">
            <span className="font-medium">{p.name}</span>
            {p.isDefault && <Badge>Default</Badge>}
            {current && <Badge tone="success">Current</Badge>}
          </div>
          {p.description && <p className="break-words text-sm text-muted-foreground">{p.description}</p>}
          <p className="text-xs text-muted-foreground">
            {count === 1 ? "1 deployment" : `${count} deployments`} · created {timeAgo(toDate(p.createdAt))}
          </p>
        </div>
        <div className="flex items-center gap-2">
          <Button variant="outline" size="sm" asChild>
            <Link to={`/projects/${p.id}`} aria-label={`Settings of project ${p.name}`}>
              <Settings2 /> Settings
            </Link>
          </Button>
          {!current && (
            <Button variant="outline" size="sm" onClick={onSelect}>
              Switch to
            </Button>
          )}
          {!p.isDefault && (
            <ConfirmButton
              variant="ghost"
              size="sm"
              destructive
              disabled={del.isPending}
              title={`Delete project ${p.name}?`}
              description="Only an empty project can be deleted: delete or move its deployments first."
              confirmLabel="Delete"
              onConfirm={() => {
                setError(null);
                del.mutate(
                  { id: p.id },
                  {
                    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ["connect-query"] }),
                    // failed_precondition names the deployments it still holds.
                    onError: (err) => setError(describeError(err)),
                  },
                );
              }}
            >
              <Trash2 /> Delete
            </ConfirmButton>
          )}
        </div>
      </div>
      {error && <Alert>{error}</Alert>}
    </li>
  );
}

/** ProjectsPage lists the caller's projects, creates, switches to and deletes them. */
export function ProjectsPage() {
  const queryClient = useQueryClient();
  const { projects, current, isLoading, error, select } = useCurrentProject();
  return (
    <div className="grid gap-6">
      <div>
        <h1 className="text-2xl font-semibold">Projects</h1>
        <p className="text-sm text-muted-foreground">Projects group deployments; the current one is where new deployments go.</p>
      </div>
      <Card>
        <CardHeader>
          <CardTitle>New project</CardTitle>
          <CardDescription>Lower-case letters, digits and hyphens, starting with a letter.</CardDescription>
        </CardHeader>
        <CardContent>
          <CreateProjectForm
            onCreated={(p) => {
              void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
              select(p.id);
            }}
          />
        </CardContent>
      </Card>
      {isLoading ? (
        <ListSkeleton />
      ) : error ? (
        <ErrorState title="Could not load your projects" error={error} />
      ) : (
        <Card className="overflow-hidden">
          <ul className="divide-y" aria-label="Projects">
            {projects.map((p) => (
              <ProjectRow key={p.id} project={p} current={p.id === current?.id} onSelect={() => select(p.id)} />
            ))}
          </ul>
        </Card>
      )}
    </div>
  );
}
