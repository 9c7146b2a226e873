import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Route, Routes, useParams } from "react-router";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { type CreateDeploymentRequest, DeploymentService, Runtime } from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import NewDeploymentPage from "./NewDeploymentPage";

function Detail() {
  const { id } = useParams();
  return <p>detail page of {id}</p>;
}

function renderNew(onCreate: (req: CreateDeploymentRequest) => void, fail?: ConnectError) {
  return renderApp({
    route: "/new",
    token: "t",
    routes: ({ service }) => {
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
});
