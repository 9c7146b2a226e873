import { useMutation } from "@connectrpc/connect-query";
import { Database as DatabaseIcon } from "lucide-react";
import { useId, useState } from "react";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { DatabaseService } from "@/gen/coderunner/v1/database_pb";
import { type Deployment, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { describeError } from "@/lib/errors";
import { EngineVariables } from "./EngineVariables";
import { ENGINES, type Engine } from "./engines";

/** CreateDatabaseCard offers a database of an engine the deployment lacks, saying what the app gets. */
export function CreateDatabaseCard({ deployment: d, engine, onCreated }: { deployment: Deployment; engine: Engine; onCreated: () => void }) {
  const create = useMutation(DatabaseService.method.createDatabase);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  const facts = ENGINES[engine];
  const destroyed = d.status === DeploymentStatus.DESTROYED;
  return (
    <Card role="region" aria-labelledby={titleId} data-engine={facts.key}>
      <CardHeader>
        <CardTitle id={titleId}>No {facts.label} database</CardTitle>
        <CardDescription>
          {facts.label}: {facts.about}. The app gets <EngineVariables engine={engine} />, reaching it at <code>{facts.address}</code> inside
          its sandbox. A running deployment restarts with them, without downtime.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        {error && <Alert>{error}</Alert>}
        <div>
          <Button
            disabled={create.isPending || destroyed}
            onClick={() => {
              setError(null);
              create.mutate({ deploymentId: d.id, engine }, { onSuccess: onCreated, onError: (err) => setError(describeError(err)) });
            }}
          >
            <DatabaseIcon /> {create.isPending ? "Creating…" : `Create ${facts.label} database`}
          </Button>
        </div>
      </CardContent>
    </Card>
  );
}
