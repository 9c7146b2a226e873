import { useId } from "react";
import { CopyButton } from "@/components/CopyButton";
import { Meta } from "@/components/Meta";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import type { Database } from "@/gen/coderunner/v1/database_pb";
import { formatBytes, formatDateTime, timeAgo, toDate } from "@/lib/format";
import { DatabaseActions, type DatabaseProps } from "./DatabaseActions";
import { EngineVariables } from "./EngineVariables";
import { RevealURLButton } from "./RevealURLButton";
import { ENGINES } from "./engines";

/** sizeText is the size, and the quota when there is one: "X of Y". */
function sizeText(db: Database): string {
  return db.maxBytes > 0n ? `${formatBytes(db.sizeBytes)} of ${formatBytes(db.maxBytes)}` : formatBytes(db.sizeBytes);
}

/**
 * DatabaseCard shows one of a deployment's databases: its details, its
 * quota state, its URL redacted (revealed on request, after the account
 * password), and its actions.
 */
export function DatabaseCard(props: DatabaseProps) {
  const { deployment: d, database: db, engine } = props;
  const titleId = useId();
  const urlLabelId = useId();
  const facts = ENGINES[engine];
  const created = toDate(db.createdAt);
  return (
    <Card role="region" aria-labelledby={titleId} data-engine={facts.key}>
      <CardHeader>
        <div className="flex flex-wrap items-center gap-2">
          <CardTitle id={titleId}>{facts.label} database</CardTitle>
          {db.readOnly && <Badge tone="danger">Read-only</Badge>}
        </div>
        <CardDescription>
          The app reaches it as <EngineVariables engine={engine} /> at <code>{facts.address}</code> inside its sandbox.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {db.readOnly && (
          <Alert tone="warning">
            <strong>Over its size quota: read-only</strong> until it is smaller than {formatBytes(db.maxBytes)}. {facts.readOnlyHint}
          </Alert>
        )}
        <dl className="grid grid-cols-2 gap-3 sm:grid-cols-3" aria-label={`${facts.label} database`}>
          <Meta label="Engine">{facts.label}</Meta>
          <Meta label="Name">
            <code data-testid="database-name">{db.name}</code>
          </Meta>
          <Meta label="User">
            <code data-testid="database-user">{db.user}</code>
          </Meta>
          <Meta label="Size">{sizeText(db)}</Meta>
          <Meta label="Connections">
            {db.connections} of {db.connectionLimit}
          </Meta>
          <Meta label="Created">
            <time dateTime={created?.toISOString()} title={formatDateTime(created)}>
              {timeAgo(created)}
            </time>
          </Meta>
        </dl>
        <div className="grid gap-1">
          <span className="text-xs text-muted-foreground" id={urlLabelId}>
            {facts.urlVariable} (password redacted)
          </span>
          <div className="flex items-center gap-2">
            <code className="min-w-0 flex-1 truncate rounded-md border bg-muted px-2 py-1.5 text-xs" aria-labelledby={urlLabelId} data-testid="database-url">
              {db.url}
            </code>
            <CopyButton text={db.url} label={`Copy ${facts.urlVariable}`} />
            <RevealURLButton deploymentId={d.id} engine={engine} />
          </div>
        </div>
        <DatabaseActions {...props} />
      </CardContent>
    </Card>
  );
}
