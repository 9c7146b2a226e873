import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import {
  type Database,
  DatabaseEngine,
  DatabaseSchema,
  DatabaseService,
  type ImportDatabaseRequest,
} from "@/gen/coderunner/v1/database_pb";
import { DeploymentSchema, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { DatabasePanel } from "./DatabasePanel";
import { ENGINES } from "./engines";

const ID = "88888888-8888-4888-8888-888888888888";
const PASSWORD = "correct horse battery";
const running = create(DeploymentSchema, { id: ID, name: "shop", status: DeploymentStatus.RUNNING, revision: 3n, release: 3n });
const { POSTGRES, REDIS } = DatabaseEngine;

type More = { sizeBytes?: bigint; maxBytes?: bigint; readOnly?: boolean };

/** database is a deployment's database of engine as ListDatabases describes it, its URL redacted. */
function database(engine: DatabaseEngine, user: string, more: More): Database {
  const pg = engine === POSTGRES;
  return create(DatabaseSchema, {
    deploymentId: ID,
    engine,
    name: "app_shop",
    user,
    sizeBytes: pg ? 7_654_321n : 2048n,
    connections: pg ? 2 : 1,
    connectionLimit: pg ? 20 : 50,
    createdAt: timestampFromDate(new Date(Date.now() - 120_000)),
    url: pg ? `postgres://${user}:[redacted]@127.0.0.1:5432/app_shop?sslmode=disable` : `redis://${user}:[redacted]@127.0.0.1:6379/0`,
    ...more,
  });
}

const postgres = (user = "app_shop", more: More = {}) => database(POSTGRES, user, more);
const redis = (user = "app_shop_r", more: More = {}) => database(REDIS, user, more);

function wrongPassword(): ConnectError {
  const violations = create(ViolationsSchema, {
    violations: [{ field: { elements: [{ fieldName: "password" }] }, ruleId: "password", message: "the password is incorrect" }],
  });
  return new ConnectError("the password is incorrect", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations }]);
}

/**
 * fakeServer is an in-memory DatabaseService holding at most one database
 * of each engine. Like the real one, it takes an unset engine only while
 * the deployment has one database, so a call that forgets its engine fails.
 */
function fakeServer(opts: { dbs?: Database[]; importError?: ConnectError; revealError?: ConnectError; dump?: string[] } = {}) {
  const dbs = new Map((opts.dbs ?? []).map((db) => [db.engine, db]));
  const state = { dbs, calls: [] as string[], imports: [] as ImportDatabaseRequest[] };
  const pick = (method: string, engine: DatabaseEngine) => {
    state.calls.push(`${method} ${engine}`);
    if (engine === DatabaseEngine.UNSPECIFIED && dbs.size > 1) throw new ConnectError("name the engine", Code.InvalidArgument);
    const db = engine === DatabaseEngine.UNSPECIFIED ? [...dbs.values()][0] : dbs.get(engine);
    if (!db) throw new ConnectError("no such database", Code.NotFound);
    return db;
  };
  const transport = createRouterTransport(({ service }) => {
    service(DatabaseService, {
      listDatabases: () => ({ databases: [...dbs.values()] }),
      createDatabase: (req) => {
        state.calls.push(`create ${req.engine}`);
        const db = req.engine === REDIS ? redis() : postgres();
        dbs.set(req.engine, db);
        return { database: db };
      },
      rotateDatabaseCredentials: (req) => {
        const db = pick("rotate", req.engine);
        const next = create(DatabaseSchema, { ...db, user: `${db.user}_2` });
        dbs.set(db.engine, next);
        return { database: next };
      },
      deleteDatabase: (req) => {
        dbs.delete(pick("delete", req.engine).engine);
        return {};
      },
      importDatabase: (req) => {
        pick("import", req.engine);
        state.imports.push(req);
        if (opts.importError) throw opts.importError;
        return {};
      },
      async *exportDatabase(req) {
        const db = pick("export", req.engine);
        const enc = new TextEncoder();
        const dump = db.engine === REDIS ? ['{"key":"a","ttl_ms":0,"dump":"AA=="}\n'] : ["-- PostgreSQL database dump\n", "CREATE TABLE t (id int);\n"];
        for (const part of opts.dump ?? dump) yield { chunk: enc.encode(part) };
      },
      revealDatabaseURL: (req) => {
        const db = pick("reveal", req.engine);
        if (opts.revealError) throw opts.revealError;
        if (req.password !== PASSWORD) throw wrongPassword();
        return { url: db.url.replace("[redacted]", "s3cret") };
      },
    });
  });
  const { queryClient } = renderApp({ transport, route: "/", token: "t", children: <DatabasePanel deployment={running} /> });
  return { ...state, queryClient };
}

/** card finds a database's card (or the offer to create one) by its title. */
const card = (title: string) => screen.findByRole("region", { name: title });

describe("DatabasePanel", () => {
  const saved: Blob[] = [];
  const names: string[] = [];
  beforeEach(() => {
    saved.length = 0;
    names.length = 0;
    URL.createObjectURL = vi.fn((b: Blob | MediaSource) => {
      saved.push(b as Blob);
      return "blob:dump";
    });
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it("offers both engines, saying what the app gets from each", async () => {
    fakeServer();
    const pg = await card("No PostgreSQL database");
    expect(within(pg).getByText(/inside its sandbox/)).toHaveTextContent(
      "The app gets DATABASE_URL, PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE, reaching it at 127.0.0.1:5432",
    );
    expect(within(pg).getByRole("button", { name: "Create PostgreSQL database" })).toBeEnabled();
    const rd = await card("No Redis database");
    expect(within(rd).getByText(/inside its sandbox/)).toHaveTextContent(
      "only keys under REDIS_PREFIX. The app gets REDIS_URL and REDIS_PREFIX, reaching it at 127.0.0.1:6379",
    );
    expect(within(rd).getByRole("button", { name: "Create Redis database" })).toBeEnabled();
  });

  it("creates a PostgreSQL database", async () => {
    const server = fakeServer();
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Create PostgreSQL database" }));
    expect(within(await card("PostgreSQL database")).getByTestId("database-name")).toHaveTextContent("app_shop");
    expect(server.calls).toEqual([`create ${POSTGRES}`]);
    expect(screen.getByRole("button", { name: "Create Redis database" })).toBeInTheDocument();
  });

  it("creates a Redis database next to the PostgreSQL one", async () => {
    const server = fakeServer({ dbs: [postgres()] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Create Redis database" }));
    const rd = await card("Redis database");
    expect(within(rd).getByTestId("database-url")).toHaveTextContent("redis://app_shop_r:[redacted]@127.0.0.1:6379/0");
    expect(within(rd).getByText(/inside its sandbox/)).toHaveTextContent("REDIS_URL and REDIS_PREFIX at 127.0.0.1:6379");
    expect(await card("PostgreSQL database")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /^Create .* database$/ })).toBeNull();
    expect(server.calls).toEqual([`create ${REDIS}`]);
  });

  it("lists both databases with their URLs redacted, sizes and connections", async () => {
    fakeServer({ dbs: [redis(), postgres()] });
    const pg = await card("PostgreSQL database");
    const rd = await card("Redis database");
    // PostgreSQL first, whatever order the server lists them in.
    expect(pg.compareDocumentPosition(rd) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(within(pg).getByTestId("database-url")).toHaveTextContent("postgres://app_shop:[redacted]@127.0.0.1:5432/app_shop");
    expect(within(pg).getByText("7.3 MiB")).toBeInTheDocument();
    expect(within(pg).getByText("2 of 20")).toBeInTheDocument();
    expect(within(pg).getByText("DATABASE_URL (password redacted)")).toBeInTheDocument();
    expect(within(rd).getByTestId("database-user")).toHaveTextContent("app_shop_r");
    expect(within(rd).getByText("2 KiB")).toBeInTheDocument();
    expect(within(rd).getByText("1 of 50")).toBeInTheDocument();
    expect(within(rd).getByText("REDIS_URL (password redacted)")).toBeInTheDocument();
    expect(screen.queryByText(/never shown/)).toBeNull();
    expect(screen.queryByText(/read-only/i)).toBeNull();
  });

  it("shows the size against the quota, and a read-only database with its engine's way back", async () => {
    fakeServer({
      dbs: [
        postgres("app_shop", { sizeBytes: 1_572_864n, maxBytes: 1_048_576n, readOnly: true }),
        redis("app_shop_r", { sizeBytes: 524_288n, maxBytes: 1_048_576n, readOnly: true }),
      ],
    });
    const pg = await card("PostgreSQL database");
    expect(within(pg).getByText("1.5 MiB of 1 MiB")).toBeInTheDocument();
    expect(within(pg).getByText("Read-only")).toBeInTheDocument();
    expect(within(pg).getByRole("status")).toHaveTextContent(/^Over its size quota: read-only until it is smaller than 1 MiB\./);
    expect(within(pg).getByRole("status")).toHaveTextContent("BEGIN READ WRITE; … COMMIT;");
    const rd = await card("Redis database");
    expect(within(rd).getByText("512 KiB of 1 MiB")).toBeInTheDocument();
    expect(within(rd).getByRole("status")).toHaveTextContent("DEL and UNLINK still work");
  });

  it("copies the redacted URL", async () => {
    fakeServer({ dbs: [postgres()] });
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, "writeText").mockResolvedValue();
    await user.click(await screen.findByRole("button", { name: "Copy DATABASE_URL" }));
    expect(writeText).toHaveBeenCalledWith(postgres().url);
    expect(await screen.findByText("Copied")).toBeInTheDocument();
  });

  it("exports the stream as one <name>.sql download", async () => {
    fakeServer({ dbs: [postgres()], dump: ["-- PostgreSQL ", "database dump\n", "SELECT 1;\n"] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Export" }));
    expect(await screen.findByText(/Exported 38 B as shop\.sql\./)).toBeInTheDocument();
    expect(names).toEqual(["shop.sql"]);
    expect(saved).toHaveLength(1);
    expect(await saved[0]!.text()).toBe("-- PostgreSQL database dump\nSELECT 1;\n");
  });

  it("exports Redis as <name>-redis.jsonl and imports JSON lines into it", async () => {
    const server = fakeServer({ dbs: [postgres(), redis()] });
    const user = userEvent.setup();
    const rd = await card("Redis database");
    await user.click(within(rd).getByRole("button", { name: "Export" }));
    expect(await within(rd).findByText(/as shop-redis\.jsonl\./)).toBeInTheDocument();
    expect(names).toEqual(["shop-redis.jsonl"]);
    expect(await saved[0]!.text()).toBe('{"key":"a","ttl_ms":0,"dump":"AA=="}\n');

    const input = within(rd).getByLabelText("Redis JSON lines file to import");
    expect(input).toHaveAttribute("accept", ENGINES[REDIS].importAccept);
    expect(ENGINES[REDIS].importAccept.split(",")).toEqual(expect.arrayContaining([".jsonl", ".json"]));
    expect(within(await card("PostgreSQL database")).getByLabelText("SQL file to import")).toHaveAttribute("accept", expect.stringContaining(".sql"));
    await user.upload(input, new File(['{"key":"b","ttl_ms":0,"dump":"AA=="}\n'], "keys.jsonl", { type: "application/jsonl" }));
    expect(await within(rd).findByText("Imported keys.jsonl.")).toBeInTheDocument();
    expect(server.imports[0]!.engine).toBe(REDIS);
  });

  it("imports a .sql file and shows the failing line the server names", async () => {
    const server = fakeServer({
      dbs: [postgres()],
      importError: new ConnectError('line 2: ERROR:  relation "nope" does not exist', Code.InvalidArgument),
    });
    const user = userEvent.setup();
    await screen.findByTestId("database-name");
    const file = new File(["SELECT 1;\nSELECT * FROM nope;\n"], "seed.sql", { type: "application/sql" });
    await user.upload(screen.getByLabelText("SQL file to import"), file);
    expect(await screen.findByText(/Import of seed\.sql failed: line 2: ERROR: relation "nope" does not exist/)).toBeInTheDocument();
    expect(server.imports).toHaveLength(1);
    expect(new TextDecoder().decode(server.imports[0]!.sql)).toBe("SELECT 1;\nSELECT * FROM nope;\n");
    expect(server.imports[0]!.deploymentId).toBe(ID);
    expect(server.imports[0]!.engine).toBe(POSTGRES);
  });

  it("rotates credentials after a confirmation and shows the new user", async () => {
    const server = fakeServer({ dbs: [postgres()] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Rotate credentials" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent(ENGINES[POSTGRES].rotateExplained);
    expect(ENGINES[POSTGRES].rotateExplained).toContain("DATABASE_URL");
    await user.click(within(dialog).getByRole("button", { name: "Rotate credentials" }));
    expect(await screen.findByText("New credentials: the app now connects as app_shop_2.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("database-user")).toHaveTextContent("app_shop_2"));
    expect(server.calls).toEqual([`rotate ${POSTGRES}`]);
  });

  it("sends the card's engine on every call, in the engine's words", async () => {
    const server = fakeServer({ dbs: [postgres(), redis()] });
    const user = userEvent.setup();
    const rd = await card("Redis database");
    await user.click(within(rd).getByRole("button", { name: "Rotate credentials" }));
    const rotate = await screen.findByRole("alertdialog");
    expect(rotate).toHaveTextContent("Rotate the Redis credentials?");
    expect(rotate).toHaveTextContent("a new user and password in REDIS_URL");
    await user.click(within(rotate).getByRole("button", { name: "Rotate credentials" }));
    expect(await within(rd).findByText("New credentials: the app now connects as app_shop_r_2.")).toBeInTheDocument();

    await user.click(within(rd).getByRole("button", { name: "Delete" }));
    const del = await screen.findByRole("alertdialog");
    expect(del).toHaveTextContent(ENGINES[REDIS].deleteExplained);
    expect(del).toHaveTextContent("every key under its prefix");
    expect(del).toHaveTextContent("without REDIS_URL and REDIS_PREFIX");
    await user.click(within(del).getByRole("button", { name: "Export first" }));
    await waitFor(() => expect(names).toEqual(["shop-redis.jsonl"]));
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete database" }));
    expect(await screen.findByRole("button", { name: "Create Redis database" })).toBeInTheDocument();
    expect(await card("PostgreSQL database")).toBeInTheDocument();
    expect(server.calls).toEqual([`rotate ${REDIS}`, `export ${REDIS}`, `delete ${REDIS}`]);
  });

  it("shows the server's refusal while the deployment is being deployed", async () => {
    const transport = createRouterTransport(({ service }) => {
      service(DatabaseService, {
        listDatabases: () => ({ databases: [postgres()] }),
        rotateDatabaseCredentials: () => {
          throw new ConnectError('deployment "shop" is being deployed; try again when it is running', Code.FailedPrecondition);
        },
      });
    });
    renderApp({ transport, route: "/", token: "t", children: <DatabasePanel deployment={running} /> });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Rotate credentials" }));
    await user.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Rotate credentials" }));
    expect(await screen.findByText(/is being deployed; try again/)).toBeInTheDocument();
  });

  it("offers an export in the delete confirmation, then deletes", async () => {
    const server = fakeServer({ dbs: [postgres()] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent(ENGINES[POSTGRES].deleteExplained);
    await user.click(within(dialog).getByRole("button", { name: "Export first" }));
    await waitFor(() => expect(names).toEqual(["shop.sql"]));
    // The dialog stays open after the export.
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete database" }));
    expect(await screen.findByRole("button", { name: "Create PostgreSQL database" })).toBeInTheDocument();
    expect(server.calls).toEqual([`export ${POSTGRES}`, `delete ${POSTGRES}`]);
  });

  it("reveals the URL after the account password, says when it is wrong, and forgets it on close", async () => {
    const server = fakeServer({ dbs: [postgres(), redis()] });
    const user = userEvent.setup();
    const pg = await card("PostgreSQL database");
    await user.click(within(pg).getByRole("button", { name: "Reveal DATABASE_URL" }));
    let dialog = await screen.findByRole("dialog", { name: "Reveal DATABASE_URL" });
    const input = within(dialog).getByLabelText("Your account password");
    expect(input).toHaveAttribute("type", "password");
    expect(input).toHaveAttribute("autocomplete", "current-password");

    await user.type(input, "wrong password");
    await user.click(within(dialog).getByRole("button", { name: "Reveal" }));
    expect(await within(dialog).findByText("the password is incorrect")).toBeInTheDocument();
    expect(input).toHaveAttribute("aria-invalid", "true");
    expect(within(dialog).queryByTestId("database-url-revealed")).toBeNull();

    await user.clear(input);
    await user.type(input, PASSWORD);
    await user.click(within(dialog).getByRole("button", { name: "Reveal" }));
    const url = "postgres://app_shop:s3cret@127.0.0.1:5432/app_shop?sslmode=disable";
    expect(await within(dialog).findByTestId("database-url-revealed")).toHaveTextContent(url);
    const writeText = vi.spyOn(navigator.clipboard, "writeText").mockResolvedValue();
    await user.click(within(dialog).getByRole("button", { name: "Copy DATABASE_URL with its password" }));
    expect(writeText).toHaveBeenCalledWith(url);

    await user.click(within(dialog).getByRole("button", { name: "Hide" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(screen.queryByText(/s3cret/)).toBeNull();
    expect(within(pg).getByTestId("database-url")).toHaveTextContent("[redacted]");
    // Nor does the query client keep the password sent or the URL received.
    await waitFor(() => expect(server.queryClient.getMutationCache().getAll()).toEqual([]));

    // Opened again, it asks again: nothing of the last reveal is kept.
    await user.click(within(pg).getByRole("button", { name: "Reveal DATABASE_URL" }));
    dialog = await screen.findByRole("dialog", { name: "Reveal DATABASE_URL" });
    expect(within(dialog).getByLabelText("Your account password")).toHaveValue("");
    expect(within(dialog).queryByTestId("database-url-revealed")).toBeNull();
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByRole("dialog")).toBeNull());
    expect(server.calls).toEqual([`reveal ${POSTGRES}`, `reveal ${POSTGRES}`]);
  });

  it("reveals the Redis URL for the Redis card and shows a lockout in the dialog", async () => {
    const server = fakeServer({
      dbs: [postgres(), redis()],
      revealError: new ConnectError("too many wrong passwords; try again in 5m0s", Code.ResourceExhausted),
    });
    const user = userEvent.setup();
    await user.click(within(await card("Redis database")).getByRole("button", { name: "Reveal REDIS_URL" }));
    const dialog = await screen.findByRole("dialog", { name: "Reveal REDIS_URL" });
    await user.type(within(dialog).getByLabelText("Your account password"), PASSWORD);
    await user.click(within(dialog).getByRole("button", { name: "Reveal" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("too many wrong passwords; try again in 5m0s");
    expect(server.calls).toEqual([`reveal ${REDIS}`]);
  });

  it("aborts a running export on unmount", async () => {
    let aborted = false;
    const transport = createRouterTransport(({ service }) => {
      service(DatabaseService, {
        listDatabases: () => ({ databases: [postgres()] }),
        async *exportDatabase(_req, ctx) {
          yield { chunk: new TextEncoder().encode("-- PostgreSQL database dump\n") };
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve()));
          aborted = true;
        },
      });
    });
    const { unmount } = renderApp({ transport, route: "/", token: "t", children: <DatabasePanel deployment={running} /> });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Export" }));
    expect(await screen.findByText(/Exporting… 28 B/)).toBeInTheDocument();
    unmount();
    await waitFor(() => expect(aborted).toBe(true));
    expect(names).toEqual([]);
  });
});
