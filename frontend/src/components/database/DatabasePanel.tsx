import { useQuery } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { ErrorState } from "@/components/ErrorState";
import { ListSkeleton } from "@/components/ListSkeleton";
import { type Database, DatabaseService } from "@/gen/coderunner/v1/database_pb";
import type { Deployment } from "@/gen/coderunner/v1/deployment_pb";
import { CreateDatabaseCard } from "./CreateDatabaseCard";
import { DatabaseCard } from "./DatabaseCard";
import { ENGINE_ORDER, type Engine, isEngine } from "./engines";

/**
 * DatabasePanel shows a deployment's databases, one card per engine
 * (details, quota state, the redacted URL and a password-checked reveal,
 * export, import, credential rotation and delete), and offers to create
 * each engine the deployment lacks.
 */
export function DatabasePanel({ deployment: d }: { deployment: Deployment }) {
  const queryClient = useQueryClient();
  const q = useQuery(DatabaseService.method.listDatabases, { deploymentId: d.id });
  // A database change is also a release and a restart: refresh everything.
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["connect-query"] });

  if (q.isPending) return <ListSkeleton />;
  if (q.error) return <ErrorState title="Could not load the databases" error={q.error} onRetry={() => void q.refetch()} />;
  const byEngine = new Map<Engine, Database>();
  for (const db of q.data.databases) if (isEngine(db.engine)) byEngine.set(db.engine, db);
  const lacking = ENGINE_ORDER.filter((e) => !byEngine.has(e));
  return (
    <div className="grid gap-4">
      {ENGINE_ORDER.map((e) => {
        const db = byEngine.get(e);
        return db && <DatabaseCard key={e} deployment={d} database={db} engine={e} onChanged={refresh} />;
      })}
      {lacking.map((e) => (
        <CreateDatabaseCard key={e} deployment={d} engine={e} onCreated={refresh} />
      ))}
    </div>
  );
}
