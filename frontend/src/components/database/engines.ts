// What the dashboard says and does differently for each database engine:
// the variables the app gets, the export's file, the import's accepted
// files, and what rotating, deleting and the size quota mean.

import { DatabaseEngine } from "@/gen/coderunner/v1/database_pb";

/** Engine is a database engine the dashboard can create. */
export type Engine = DatabaseEngine.POSTGRES | DatabaseEngine.REDIS;

/** ENGINE_ORDER is the order the panel shows engines in. */
export const ENGINE_ORDER: readonly Engine[] = [DatabaseEngine.POSTGRES, DatabaseEngine.REDIS];

/** EngineFacts is one engine's words and files. */
export interface EngineFacts {
  /** A short name for attributes and ids: "postgres", "redis". */
  key: string;
  /** Its name for people, e.g. "PostgreSQL". */
  label: string;
  /** What the deployment gets on the server, for the offer to create it. */
  about: string;
  /** The variable holding the URL, e.g. "DATABASE_URL". */
  urlVariable: string;
  /** The other variables the app gets, besides urlVariable. */
  otherVariables: readonly string[];
  /** Where the app reaches it inside its sandbox. */
  address: string;
  /** What rotating does, said before it runs. */
  rotateExplained: string;
  /** What deleting loses, said before it runs. */
  deleteExplained: string;
  /** What still works while it is over its size quota. */
  readOnlyHint: string;
  /** The export's file name for a deployment named name. */
  exportName: (name: string) => string;
  /** The export's media type. */
  exportType: string;
  /** The import's file input accept list. */
  importAccept: string;
  /** The import file input's label. */
  importLabel: string;
}

/** ENGINES holds each engine's facts. */
export const ENGINES: Record<Engine, EngineFacts> = {
  [DatabaseEngine.POSTGRES]: {
    key: "postgres",
    label: "PostgreSQL",
    about: "a database and a role of this deployment's own",
    urlVariable: "DATABASE_URL",
    otherVariables: ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"],
    address: "127.0.0.1:5432",
    rotateExplained:
      "The app restarts with a new user and password in DATABASE_URL, without downtime. The old login is removed once no replica uses it.",
    deleteExplained:
      "It is dropped with everything in it: every table and row. This cannot be undone. A running app restarts without DATABASE_URL.",
    readOnlyHint: "Transactions start read-only; to delete rows, run them in BEGIN READ WRITE; … COMMIT;.",
    exportName: (name) => `${name}.sql`,
    exportType: "application/sql",
    importAccept: ".sql,application/sql,text/plain",
    importLabel: "SQL file to import",
  },
  [DatabaseEngine.REDIS]: {
    key: "redis",
    label: "Redis",
    about: "an ACL user of this deployment's own that reaches only keys under REDIS_PREFIX",
    urlVariable: "REDIS_URL",
    otherVariables: ["REDIS_PREFIX"],
    address: "127.0.0.1:6379",
    rotateExplained:
      "The app restarts with a new user and password in REDIS_URL, without downtime. The old login is removed once no replica uses it.",
    deleteExplained:
      "It is dropped with everything in it: every key under its prefix. This cannot be undone. A running app restarts without REDIS_URL and REDIS_PREFIX.",
    readOnlyHint: "Writes are refused; DEL and UNLINK still work, to make it smaller.",
    exportName: (name) => `${name}-redis.jsonl`,
    exportType: "application/jsonl",
    importAccept: ".jsonl,.json,application/jsonl,application/json,text/plain",
    importLabel: "Redis JSON lines file to import",
  },
};

/** isEngine tells the engines the dashboard knows from the rest. */
export function isEngine(e: DatabaseEngine): e is Engine {
  return e === DatabaseEngine.POSTGRES || e === DatabaseEngine.REDIS;
}
