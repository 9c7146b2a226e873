import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type Database,
  DatabaseEngine,
  DatabaseSchema,
  DatabaseService,
  type ImportDatabaseRequest,
} from "@/gen/coderunner/v1/database_pb";
import { DeploymentSchema, DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { DELETE_EXPLAINED, DatabasePanel, ROTATE_EXPLAINED } from "./DatabasePanel";

const ID = "88888888-8888-4888-8888-888888888888";
const running = create(DeploymentSchema, { id: ID, name: "shop", status: DeploymentStatus.RUNNING, revision: 3n, release: 3n });

function database(user = "app_shop"): Database {
  return create(DatabaseSchema, {
    deploymentId: ID,
    engine: DatabaseEngine.POSTGRES,
    name: "app_shop",
    user,
    sizeBytes: 7_654_321n,
    connections: 2,
    connectionLimit: 20,
    createdAt: timestampFromDate(new Date(Date.now() - 120_000)),
    url: `postgres://${user}:[redacted]@127.0.0.1:5432/app_shop?sslmode=disable`,
  });
}

/** fakeServer is an in-memory DatabaseService holding at most one database. */
function fakeServer(opts: { db?: Database; importError?: ConnectError; dump?: string[] } = {}) {
  const state = { db: opts.db, calls: [] as string[], imports: [] as ImportDatabaseRequest[] };
  const transport = createRouterTransport(({ service }) => {
    service(DatabaseService, {
      listDatabases: () => ({ databases: state.db ? [state.db] : [] }),
      createDatabase: (req) => {
        state.calls.push(`create ${req.engine}`);
        state.db = database();
        return { database: state.db };
      },
      rotateDatabaseCredentials: () => {
        state.calls.push("rotate");
        state.db = database("app_shop_2");
        return { database: state.db };
      },
      deleteDatabase: () => {
        state.calls.push("delete");
        state.db = undefined;
        return {};
      },
      importDatabase: (req) => {
        state.imports.push(req);
        if (opts.importError) throw opts.importError;
        return {};
      },
      async *exportDatabase() {
        state.calls.push("export");
        const enc = new TextEncoder();
        for (const part of opts.dump ?? ["-- PostgreSQL database dump\n", "CREATE TABLE t (id int);\n"]) {
          yield { chunk: enc.encode(part) };
        }
      },
    });
  });
  renderApp({ transport, route: "/", token: "t", children: <DatabasePanel deployment={running} /> });
  return state;
}

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

  it("explains the variables and creates a PostgreSQL database", async () => {
    const server = fakeServer();
    const user = userEvent.setup();
    const button = await screen.findByRole("button", { name: "Create PostgreSQL database" });
    expect(screen.getByText(/inside its sandbox/)).toHaveTextContent("127.0.0.1:5432");
    expect(screen.getByText("DATABASE_URL")).toBeInTheDocument();
    await user.click(button);
    expect(await screen.findByTestId("database-name")).toHaveTextContent("app_shop");
    expect(server.calls).toEqual([`create ${DatabaseEngine.POSTGRES}`]);
  });

  it("shows the database with its URL redacted, size and connections", async () => {
    fakeServer({ db: database() });
    expect(await screen.findByTestId("database-user")).toHaveTextContent("app_shop");
    expect(screen.getByTestId("database-url")).toHaveTextContent("postgres://app_shop:[redacted]@127.0.0.1:5432/app_shop");
    expect(screen.getByText("7.3 MiB")).toBeInTheDocument();
    expect(screen.getByText("2 of 20")).toBeInTheDocument();
    expect(screen.getByText("PostgreSQL database")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /reveal/i })).toBeNull();
  });

  it("copies the redacted URL", async () => {
    fakeServer({ db: database() });
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, "writeText").mockResolvedValue();
    await user.click(await screen.findByRole("button", { name: "Copy DATABASE_URL" }));
    expect(writeText).toHaveBeenCalledWith(database().url);
    expect(await screen.findByText("Copied")).toBeInTheDocument();
  });

  it("exports the stream as one <name>.sql download", async () => {
    fakeServer({ db: database(), dump: ["-- PostgreSQL ", "database dump\n", "SELECT 1;\n"] });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Export" }));
    expect(await screen.findByText(/Exported 38 B as shop\.sql\./)).toBeInTheDocument();
    expect(names).toEqual(["shop.sql"]);
    expect(saved).toHaveLength(1);
    expect(await saved[0]!.text()).toBe("-- PostgreSQL database dump\nSELECT 1;\n");
  });

  it("imports a .sql file and shows the failing line the server names", async () => {
    const server = fakeServer({
      db: database(),
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
  });

  it("rotates credentials after a confirmation and shows the new user", async () => {
    const server = fakeServer({ db: database() });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Rotate credentials" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent(ROTATE_EXPLAINED);
    await user.click(within(dialog).getByRole("button", { name: "Rotate credentials" }));
    expect(await screen.findByText("New credentials: the app now connects as app_shop_2.")).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId("database-user")).toHaveTextContent("app_shop_2"));
    expect(server.calls).toEqual(["rotate"]);
  });

  it("shows the server's refusal while the deployment is being deployed", async () => {
    const transport = createRouterTransport(({ service }) => {
      service(DatabaseService, {
        listDatabases: () => ({ databases: [database()] }),
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
    const server = fakeServer({ db: database() });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Delete" }));
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog).toHaveTextContent(DELETE_EXPLAINED);
    await user.click(within(dialog).getByRole("button", { name: "Export first" }));
    await waitFor(() => expect(names).toEqual(["shop.sql"]));
    // The dialog stays open after the export.
    await user.click(within(screen.getByRole("alertdialog")).getByRole("button", { name: "Delete database" }));
    expect(await screen.findByRole("button", { name: "Create PostgreSQL database" })).toBeInTheDocument();
    expect(server.calls).toEqual(["export", "delete"]);
  });

  it("aborts a running export on unmount", async () => {
    let aborted = false;
    const transport = createRouterTransport(({ service }) => {
      service(DatabaseService, {
        listDatabases: () => ({ databases: [database()] }),
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
