// The current project: the one the deployments list shows and new
// deployments go into. Its id is kept in localStorage so a reload (and
// every tab) stays in it; an id that no longer names a project (deleted,
// another account) falls back to the default project.

import { useQuery } from "@connectrpc/connect-query";
import { useCallback, useSyncExternalStore } from "react";
import { type Project, ProjectService } from "@/gen/coderunner/v1/project_pb";

export const PROJECT_KEY = "coderunner.project";

const listeners = new Set<() => void>();

function readStored(): string {
  try {
    return window.localStorage.getItem(PROJECT_KEY) ?? "";
  } catch {
    return "";
  }
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  // A switch in another tab applies here too.
  const onStorage = (e: StorageEvent) => {
    if (e.key === PROJECT_KEY || e.key === null) listener();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}

/** storeCurrentProject remembers id as the current project ("" forgets it). */
export function storeCurrentProject(id: string): void {
  try {
    if (id) window.localStorage.setItem(PROJECT_KEY, id);
    else window.localStorage.removeItem(PROJECT_KEY);
  } catch {
    // Storage can be unavailable (private mode): the choice lasts until reload.
  }
  for (const l of listeners) l();
}

/** pickCurrent is the project named by storedId, else the default one, else the first. */
export function pickCurrent(projects: readonly Project[], storedId: string): Project | undefined {
  return projects.find((p) => p.id === storedId) ?? projects.find((p) => p.isDefault) ?? projects[0];
}

export interface CurrentProject {
  projects: Project[];
  /** undefined while the list loads or when it failed. */
  current: Project | undefined;
  isLoading: boolean;
  error: unknown;
  select: (id: string) => void;
}

/** useCurrentProject lists the caller's projects and says which is current. */
export function useCurrentProject(): CurrentProject {
  const q = useQuery(ProjectService.method.listProjects, {});
  const storedId = useSyncExternalStore(subscribe, readStored, () => "");
  const projects = q.data?.projects ?? [];
  const select = useCallback((id: string) => storeCurrentProject(id), []);
  return {
    projects,
    current: pickCurrent(projects, storedId),
    isLoading: q.isPending,
    error: q.error,
    select,
  };
}
