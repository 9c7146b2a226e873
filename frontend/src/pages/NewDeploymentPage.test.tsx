import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { type CreateDeploymentRequest, DeploymentService, Runtime } from "@/gen/coderunner/v1/deployment_pb";
import { ProjectService } from "@/gen/coderunner/v1/project_pb";
import { PROJECT_KEY } from "@/lib/projects";
import { renderApp } from "@/test/render";
import NewDeploymentPage from "./NewDeploymentPage";

function Detail() {
  const { id } = useParams();
  return <p>detail page of {id}</p>;
}

const SHOP = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";

function renderNew(onCreate: (req: CreateDeploymentRequest) => void, fail?: ConnectError, withProjects = false) {
  return renderApp({
    route: "/new",
    token: "t",
    routes: ({ service }) => {
      if (withProjects) {
        service(ProjectService, {
          listProjects: () => ({
            projects: [
              { id: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", name: "default", isDefault: true },
              { id: SHOP, name: "shop" },
            ],
          }),
        });
      }
      service(DeploymentService, {
        createDeployment(req) {
          onCreate(req);
          if (fail) throw fail;
          return { deployment: { id: "44444444-4444-4444-8444-444444444444", name: req.name } };
        },
      });
    },
    children: (
      <Routes>
        <Route path="/new" element={<NewDeploymentPage />} />
        <Route path="/deployments/:id" element={<Detail />} />
      </Routes>
    ),
  });
}

// vitest runs in frontend/; the starters are the repository's examples.
const examples = resolve(process.cwd(), "..", "examples");

describe("NewDeploymentPage", () => {
  it("deploys a starter's files, byte for byte, and opens the deployment", async () => {
    const user = userEvent.setup();
    const requests: CreateDeploymentRequest[] = [];
    renderNew((r) => requests.push(r));
    await user.click(screen.getByRole("button", { name: /^Express/ }));
    expect(screen.getByLabelText("Name")).toHaveValue("express-app");
    expect(screen.getByRole("tab", { name: "index.js" })).toHaveAttribute("aria-selected", "true");
    // The file tabs follow the arrow keys.
    screen.getByRole("tab", { name: "index.js" }).focus();
    await user.keyboard("{ArrowRight}");
    expect(screen.getByRole("tab", { name: "package-lock.json" })).toHaveAttribute("aria-selected", "true");
    expect(screen.getByRole("tab", { name: "package-lock.json" })).toHaveFocus();
    await user.click(screen.getByRole("button", { name: "Add variable" }));
    await user.type(screen.getByLabelText("Variable 1 name"), "GREETING");
    await user.type(screen.getByLabelText("Variable 1 value"), "hi");
    await user.click(screen.getByRole("button", { name: "Deploy" }));
    expect(await screen.findByText("detail page of 44444444-4444-4444-8444-444444444444")).toBeInTheDocument();

    const req = requests[0];
    expect(req?.name).toBe("express-app");
    expect(req?.runtime).toBe(Runtime.NODEJS);
    expect(req?.env).toEqual({ GREETING: "hi" });
    expect(req?.files.map((f) => f.path)).toEqual(["index.js", "package-lock.json", "package.json"]);
    for (const f of req?.files ?? []) {
      const onDisk = readFileSync(resolve(examples, "express-app", f.path), "utf8");
      expect(new TextDecoder().decode(f.content)).toBe(onDisk);
    }
  });

  it("deploys into the current project", async () => {
    localStorage.setItem(PROJECT_KEY, SHOP);
    const user = userEvent.setup();
    const requests: CreateDeploymentRequest[] = [];
    renderNew((r) => requests.push(r), undefined, true);
    expect(await screen.findByTestId("target-project")).toHaveTextContent("Deploys into project shop");
    await user.click(screen.getByRole("button", { name: /^Express/ }));
    await user.click(screen.getByRole("button", { name: "Deploy" }));
    await screen.findByText(/^detail page of/);
    expect(requests[0]?.projectId).toBe(SHOP);
  });

  it("shows the server's violations beside name and env", async () => {
    const user = userEvent.setup();
    const err = new ConnectError("validation errors", Code.InvalidArgument, undefined, [
      {
        desc: ViolationsSchema,
        value: create(ViolationsSchema, {
          violations: [
            { field: { elements: [{ fieldName: "name" }] }, message: "value does not match regex pattern `^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`" },
            { field: { elements: [{ fieldName: "env", subscript: { case: "stringKey", value: "PORT" } }] }, message: "PORT and HOST are set by CodeRunner" },
          ],
        }),
      },
    ]);
    renderNew(() => {}, err);
    await user.click(screen.getByRole("button", { name: /^Blog API/ }));
    await user.clear(screen.getByLabelText("Name"));
    await user.type(screen.getByLabelText("Name"), "9bad");
    await user.click(screen.getByRole("button", { name: "Deploy" }));
    expect(await screen.findByText(/does not match regex pattern/)).toBeInTheDocument();
    expect(screen.getByText('env["PORT"]: PORT and HOST are set by CodeRunner')).toBeInTheDocument();
    expect(screen.getByLabelText("Name")).toHaveAttribute("aria-invalid", "true");
  });

  it("asks for source before deploying", async () => {
    const user = userEvent.setup();
    const requests: CreateDeploymentRequest[] = [];
    renderNew((r) => requests.push(r));
    await user.type(screen.getByLabelText("Name"), "empty");
    await user.click(screen.getByRole("button", { name: "Deploy" }));
    expect(await screen.findByText(/Add some files/)).toBeInTheDocument();
    await waitFor(() => expect(requests).toHaveLength(0));
  });

  it("sends an uploaded archive as is", async () => {
    const user = userEvent.setup();
    const requests: CreateDeploymentRequest[] = [];
    renderNew((r) => requests.push(r));
    await user.type(screen.getByLabelText("Name"), "zipped");
    const bytes = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3]);
    await user.upload(screen.getByTestId("archive-input"), new File([bytes], "app.tar.gz", { type: "application/gzip" }));
    expect(await screen.findByText("app.tar.gz")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Deploy" }));
    await screen.findByText(/detail page of/);
    expect(requests[0]?.archive).toEqual(bytes);
    expect(requests[0]?.files).toEqual([]);
  });

  describe("drag and drop", () => {
    it("adds dropped files as editor tabs and deploys them", async () => {
      const user = userEvent.setup();
      const requests: CreateDeploymentRequest[] = [];
      renderNew((r) => requests.push(r));
      const pkg = new File([PACKAGE_JSON], "package.json", { type: "application/json" });
      const server = new File([SERVER_JS], "server.js", { type: "text/javascript" });
      const zone = screen.getByTestId("dropzone");
      fireEvent.dragOver(zone, { dataTransfer: dropped([]) });
      expect(zone).toHaveClass("border-primary");
      fireEvent.drop(zone, { dataTransfer: dropped([fileEntry(server), fileEntry(pkg)]) });
      expect(await screen.findByRole("tab", { name: "server.js" })).toHaveAttribute("aria-selected", "true");
      expect(zone).not.toHaveClass("border-primary");
      expect(screen.getAllByRole("tab").map((t) => t.textContent)).toEqual(["package.json", "server.js"]);
      expect(screen.getByLabelText("Contents of server.js")).toHaveTextContent("process.env.PORT");

      await user.type(screen.getByLabelText("Name"), "dropped");
      await user.click(screen.getByRole("button", { name: "Deploy" }));
      await screen.findByText(/detail page of/);
      const req = requests[0];
      expect(req?.archive).toHaveLength(0);
      expect(req?.files.map((f) => [f.path, new TextDecoder().decode(f.content)])).toEqual([
        ["package.json", PACKAGE_JSON],
        ["server.js", SERVER_JS],
      ]);
    });

    it("reads dropped files without entries (no webkitGetAsEntry) and merges them with the open ones", async () => {
      renderNew(() => {});
      const zone = screen.getByTestId("dropzone");
      fireEvent.drop(zone, { dataTransfer: { files: [new File(["a"], "a.js")], items: [], types: ["Files"] } });
      await screen.findByRole("tab", { name: "a.js" });
      fireEvent.drop(zone, { dataTransfer: { files: [new File(["b"], "b.js"), new File(["a2"], "a.js")], items: [], types: ["Files"] } });
      await screen.findByRole("tab", { name: "b.js" });
      expect(screen.getAllByRole("tab").map((t) => t.textContent)).toEqual(["a.js", "b.js"]);
      await userEvent.setup().click(screen.getByRole("tab", { name: "a.js" }));
      expect(screen.getByLabelText("Contents of a.js")).toHaveTextContent("a2");
    });

    it("walks a dropped folder, strips its name, skips node_modules and .git, keeps binaries as bytes", async () => {
      const user = userEvent.setup();
      const requests: CreateDeploymentRequest[] = [];
      renderNew((r) => requests.push(r));
      const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff]);
      const folder = dirEntry("my-app", [
        fileEntry(new File([PACKAGE_JSON], "package.json")),
        fileEntry(new File([SERVER_JS], "server.js")),
        dirEntry("src", [fileEntry(new File(["exports.x = 1;\n"], "util.js")), dirEntry("lib", [fileEntry(new File(["// deep\n"], "deep.js"))])]),
        dirEntry("public", [fileEntry(new File([png], "logo.png"))]),
        dirEntry("node_modules", [dirEntry("left-pad", [fileEntry(new File(["module.exports = 0;"], "index.js"))])]),
        dirEntry(".git", [fileEntry(new File(["ref: refs/heads/main"], "HEAD"))]),
        fileEntry(new File(["junk"], ".DS_Store")),
      ]);
      fireEvent.drop(screen.getByTestId("dropzone"), { dataTransfer: dropped([folder]) });
      await screen.findByRole("tab", { name: "server.js" });
      expect(screen.getAllByRole("tab").map((t) => t.textContent)).toEqual([
        "package.json",
        "public/logo.png",
        "server.js",
        "src/lib/deep.js",
        "src/util.js",
      ]);
      await user.click(screen.getByRole("tab", { name: "public/logo.png" }));
      expect(screen.getByText(/Binary file, 8 B/)).toBeInTheDocument();

      await user.type(screen.getByLabelText("Name"), "folder");
      await user.click(screen.getByRole("button", { name: "Deploy" }));
      await screen.findByText(/detail page of/);
      const sent = Object.fromEntries((requests[0]?.files ?? []).map((f) => [f.path, f.content]));
      expect(Object.keys(sent)).toEqual(["package.json", "public/logo.png", "server.js", "src/lib/deep.js", "src/util.js"]);
      expect(sent["public/logo.png"]).toEqual(png);
      expect(new TextDecoder().decode(sent["server.js"])).toBe(SERVER_JS);
    });

    it("keeps a dropped archive whole and sends it as the archive", async () => {
      const user = userEvent.setup();
      const requests: CreateDeploymentRequest[] = [];
      renderNew((r) => requests.push(r));
      // Files already open are replaced by the archive.
      await user.click(screen.getByRole("button", { name: /^Express/ }));
      await screen.findByRole("tab", { name: "index.js" });
      const bytes = new Uint8Array([0x50, 0x4b, 3, 4, 20, 0, 0, 0, 0xff]);
      const zip = new File([bytes], "app.zip", { type: "application/zip" });
      fireEvent.drop(screen.getByTestId("dropzone"), { dataTransfer: dropped([fileEntry(zip)]) });
      expect(await screen.findByText("app.zip")).toBeInTheDocument();
      expect(screen.getByText(/9 B, unpacked by the server/)).toBeInTheDocument();
      expect(screen.queryByRole("tab")).not.toBeInTheDocument();
      await user.click(screen.getByRole("button", { name: "Deploy" }));
      await screen.findByText(/detail page of/);
      expect(requests[0]?.archive).toEqual(bytes);
      expect(requests[0]?.files).toEqual([]);
    });

    it("says so when a drop holds nothing usable", async () => {
      renderNew(() => {});
      const zone = screen.getByTestId("dropzone");
      // Dragged text or a link: no files, only string items.
      fireEvent.drop(zone, {
        dataTransfer: { files: [], items: [{ kind: "string", type: "text/plain", webkitGetAsEntry: () => null }], types: ["text/plain"] },
      });
      expect(await screen.findByRole("alert")).toHaveTextContent(/Nothing to add from that drop/);
      expect(screen.getByText("No files yet.")).toBeInTheDocument();

      // A folder holding only dependencies.
      fireEvent.drop(zone, { dataTransfer: dropped([dirEntry("deps", [dirEntry("node_modules", [fileEntry(new File(["x"], "x.js"))])])]) });
      await waitFor(() => expect(screen.getByRole("alert")).toHaveTextContent(/node_modules and \.git are skipped/));

      // A good drop clears the message.
      fireEvent.drop(zone, { dataTransfer: dropped([fileEntry(new File(["x"], "index.js"))]) });
      await screen.findByRole("tab", { name: "index.js" });
      expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    });

    it("shows a readable message when a dropped file cannot be read", async () => {
      renderNew(() => {});
      const broken = {
        isFile: true,
        isDirectory: false,
        name: "locked.js",
        file: (_ok: (f: File) => void, fail: (e: Error) => void) => fail(new Error("permission denied")),
      };
      fireEvent.drop(screen.getByTestId("dropzone"), { dataTransfer: dropped([broken as unknown as FileSystemEntry]) });
      expect(await screen.findByRole("alert")).toHaveTextContent("Could not read what was dropped: permission denied");
      expect(screen.getByText("No files yet.")).toBeInTheDocument();
    });
  });
});

const PACKAGE_JSON = `${JSON.stringify({ name: "dropped", version: "1.0.0", main: "server.js" }, null, 2)}\n`;
const SERVER_JS = 'require("node:http").createServer((q, s) => s.end("hi")).listen(Number(process.env.PORT));\n';

// Fakes of the File and Directory Entries API that DataTransferItem.webkitGetAsEntry returns.
const entryFiles = new WeakMap<FileSystemEntry, File>();

function fileEntry(file: File): FileSystemEntry {
  const entry = {
    isFile: true,
    isDirectory: false,
    name: file.name,
    file: (ok: (f: File) => void) => setTimeout(() => ok(file), 0),
  } as unknown as FileSystemEntry;
  entryFiles.set(entry, file);
  return entry;
}

function dirEntry(name: string, children: FileSystemEntry[]): FileSystemEntry {
  return {
    isFile: false,
    isDirectory: true,
    name,
    createReader: () => {
      // Like chromium, hand the entries out in batches until an empty one.
      let next = 0;
      return {
        readEntries: (ok: (batch: FileSystemEntry[]) => void) =>
          setTimeout(() => {
            const batch = children.slice(next, next + 2);
            next += batch.length;
            ok(batch);
          }, 0),
      };
    },
  } as unknown as FileSystemEntry;
}

/**
 * dropped is a DataTransfer as a browser fills it for dropped entries: files
 * holds each dropped file, and each dropped folder as a zero-byte File.
 */
function dropped(entries: FileSystemEntry[]) {
  return {
    files: entries.map((e) => entryFiles.get(e) ?? new File([], e.name)),
    items: entries.map((e) => ({ kind: "file", type: "", webkitGetAsEntry: () => e, getAsFile: () => null })),
    types: ["Files"],
  };
}
