import { FolderKanban } from "lucide-react";
import { NavLink } from "react-router";
import { Select } from "@/components/ui/input";
import { useCurrentProject } from "@/lib/projects";

/**
 * ProjectSelector switches the current project from the header. A native
 * select: keyboard, screen readers and phones handle it well, and a user
 * has a handful of projects.
 */
export function ProjectSelector() {
  const { projects, current, select } = useCurrentProject();
  // Until the list loads (or when the server has no projects) there is nothing to choose.
  if (!current) return null;
  return (
    <div className="flex items-center gap-1">
      <NavLink to="/projects" className="text-muted-foreground hover:text-foreground" aria-label="Manage projects" title="Manage projects">
        <FolderKanban className="size-4" aria-hidden />
      </NavLink>
      <Select
        aria-label="Current project"
        value={current.id}
        onChange={(e) => select(e.target.value)}
        className="h-8 w-auto max-w-44 py-0 text-sm"
        data-testid="project-selector"
      >
        {projects.map((p) => (
          <option key={p.id} value={p.id}>
            {p.name}
          </option>
        ))}
      </Select>
    </div>
  );
}
