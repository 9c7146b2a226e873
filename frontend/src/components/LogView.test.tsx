import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeploymentService, type LogEntry, LogEntrySchema, LogPhase, LogStream } from "@/gen/coderunner/v1/deployment_pb";
import { renderApp } from "@/test/render";
import { LogView, filterLines, toRows } from "./LogView";

const ID = "33333333-3333-4333-8333-333333333333";

function entry(seq: number, text: string, phase = LogPhase.RUN, stream = LogStream.STDOUT): LogEntry {
  return create(LogEntrySchema, { seq: BigInt(seq), text, phase, stream, time: timestampNow() });
}

function renderLogs(transport: ReturnType<typeof createRouterTransport>) {
  return renderApp({
    transport,
    route: "/",
    token: "t",
    children: <LogView deploymentId={ID} deploymentName="hello" />,
  });
}

describe("LogView", () => {
  // jsdom does no layout: give elements a size so the virtualizer renders rows.
  const saved = {
    h: Object.getOwnPropertyDescriptor(Element.prototype, "clientHeight"),
    w: Object.getOwnPropertyDescriptor(Element.prototype, "clientWidth"),
  };
  beforeAll(() => {
    Object.defineProperty(Element.prototype, "clientHeight", { configurable: true, get: () => 400 });
    Object.defineProperty(Element.prototype, "clientWidth", { configurable: true, get: () => 800 });
  });
  afterAll(() => {
    if (saved.h) Object.defineProperty(Element.prototype, "clientHeight", saved.h);
    if (saved.w) Object.defineProperty(Element.prototype, "clientWidth", saved.w);
  });

  it("renders ANSI colours as spans and markup as text", async () => {
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(_req, ctx) {
          yield { entries: [entry(1, "\u001b[32mgreen\u001b[0m done"), entry(2, '<img src=x onerror="alert(1)">')] };
          await new Promise((r) => ctx.signal.addEventListener("abort", r));
        },
      });
    });
    renderLogs(transport);
    const green = await screen.findByText("green");
    expect(green.tagName).toBe("SPAN");
    expect(green).toHaveClass("ansi-fg-2");
    expect(screen.getByText('<img src=x onerror="alert(1)">')).toBeInTheDocument();
    expect(document.querySelector("img[src=x]")).toBeNull();
    expect(screen.getByTestId("log-count")).toHaveTextContent("2 lines");
  });

  it("reconnects after a drop and shows every line once", async () => {
    let calls = 0;
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(req, ctx) {
          calls++;
          if (calls === 1) {
            yield { entries: [entry(1, "one"), entry(2, "two")] };
            throw new ConnectError("stream reset", Code.Unavailable);
          }
          expect(req.afterSeq).toBe(2n);
          yield { entries: [entry(2, "two"), entry(3, "three")] };
          await new Promise((r) => ctx.signal.addEventListener("abort", r));
        },
      });
    });
    renderLogs(transport);
    expect(await screen.findByText("three", {}, { timeout: 3000 })).toBeInTheDocument();
    expect(screen.getAllByText("two")).toHaveLength(1);
    expect(screen.getByTestId("log-count")).toHaveTextContent("3 lines");
    expect(calls).toBe(2);
  });

  it("filters by phase, stream and search", async () => {
    const user = userEvent.setup();
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(_req, ctx) {
          yield {
            entries: [
              entry(1, "npm ci started", LogPhase.BUILD, LogStream.SYSTEM),
              entry(2, "added 72 packages", LogPhase.BUILD),
              entry(3, "listening on 3000", LogPhase.RUN),
              entry(4, "\u001b[31mError\u001b[0m: boom", LogPhase.RUN, LogStream.STDERR),
            ],
          };
          await new Promise((r) => ctx.signal.addEventListener("abort", r));
        },
      });
    });
    renderLogs(transport);
    await screen.findByText("listening on 3000");
    await user.click(screen.getByRole("button", { name: "Build" }));
    expect(screen.getByTestId("log-count")).toHaveTextContent("2 of 4 lines");
    await user.click(screen.getByRole("button", { name: "All" }));
    await user.click(screen.getByRole("button", { name: "stdout" }));
    expect(screen.getByTestId("log-count")).toHaveTextContent("2 of 4 lines");
    await user.click(screen.getByRole("button", { name: "stdout" }));
    await user.type(screen.getByLabelText("Search logs"), "error: BOOM");
    expect(screen.getByTestId("log-count")).toHaveTextContent("1 of 4 lines");
  });

  it("pauses and resumes following", async () => {
    const user = userEvent.setup();
    const transport = createRouterTransport(({ service }) => {
      service(DeploymentService, {
        async *streamLogs(_req, ctx) {
          yield { entries: [entry(1, "a")] };
          await new Promise((r) => ctx.signal.addEventListener("abort", r));
        },
      });
    });
    renderLogs(transport);
    await screen.findByText("a");
    await user.click(screen.getByRole("button", { name: "Pause" }));
    expect(screen.getByRole("button", { name: "Jump to latest" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Resume" }));
    await waitFor(() => expect(screen.queryByRole("button", { name: "Jump to latest" })).toBeNull());
  });
});

describe("filterLines", () => {
  it("handles 50,000 lines quickly", () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => entry(i + 1, `request ${i} \u001b[2mGET /\u001b[0m ${i % 7 === 0 ? "slow" : "ok"}`));
    const t0 = performance.now();
    const slow = filterLines(lines, "all", { stdout: true, stderr: true, system: true }, "slow");
    const ms = performance.now() - t0;
    expect(slow.length).toBe(Math.ceil(50_000 / 7));
    expect(ms).toBeLessThan(1500);
  });
});

describe("toRows", () => {
  it("splits multi-line entries into rows of one height, keyed uniquely", () => {
    const rows = toRows([entry(1, "one"), entry(2, "deployment failed:\nline a\nline b"), entry(3, "three")]);
    expect(rows.map((r) => [r.key, r.text, r.cont])).toEqual([
      ["1", "one", false],
      ["2.0", "deployment failed:", false],
      ["2.1", "line a", true],
      ["2.2", "line b", true],
      ["3", "three", false],
    ]);
  });
});
