import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type AuditEvent, AuditEventSchema, AuditService, type StreamAuditEventsRequest } from "@/gen/coderunner/v1/audit_pb";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { renderApp } from "@/test/render";

const DEP = "88888888-8888-4888-8888-888888888888";
const at = (ms: number) => timestampFromMs(Date.now() - ms);

function ev(id: bigint, action: string, fields: MessageInitShape<typeof AuditEventSchema> = {}): AuditEvent {
  return create(AuditEventSchema, { id, action, time: at(60_000), code: "ok", clientAddress: "127.0.0.1", actor: "ada@example.com", ...fields });
}

const newest = [
  ev(12n, "/coderunner.v1.ConfigService/SetSecret", { targetType: "deployment", targetId: DEP, summary: "deployment_id=8888 name=API_KEY value=[redacted]" }),
  ev(11n, "/coderunner.v1.ProjectService/DeleteProject", { targetType: "project", targetId: "p1", code: "failed_precondition", message: 'project "shop" holds cart' }),
];
const older = [ev(10n, "/coderunner.v1.AuthService/Login", { targetType: "user", summary: "email=ada@example.com password=[redacted]" })];

/**
 * server pages through newest then older; its stream sends `later` once
 * released and records its requests and whether the client hung up.
 */
function server(opts: { dropAfterFirst?: boolean } = {}) {
  let release = () => {};
  const released = new Promise<void>((r) => (release = r));
  const streams: { req: StreamAuditEventsRequest; aborted: boolean }[] = [];
  const transport = createRouterTransport(({ service }) => {
    service(AuthService, { verify: () => ({ user: { id: "u", email: "ada@example.com" } }) });
    service(AuditService, {
      listAuditEvents: (req) => (req.pageToken === "" ? { events: newest, nextPageToken: "older" } : { events: older }),
      async *streamAuditEvents(req, ctx) {
        const s = { req, aborted: false };
        streams.push(s);
        ctx.signal.addEventListener("abort", () => (s.aborted = true));
        await released;
        if (req.afterId >= 13n) {
          yield { event: ev(14n, "/coderunner.v1.ConfigService/DeleteSecret", { targetType: "deployment", targetId: DEP }) };
        } else {
          yield { event: ev(13n, "/coderunner.v1.ProjectService/CreateProject", { targetType: "project", targetId: "p2", summary: "name=staging" }) };
          if (opts.dropAfterFirst) throw new ConnectError("connection reset", Code.Unavailable);
        }
        await new Promise((r) => ctx.signal.addEventListener("abort", r));
      },
    });
  });
  return { transport, streams, release };
}

const rows = () =>
  within(screen.getByRole("table", { name: "Audit events" }))
    .getAllByRole("row")
    .slice(1);

describe("ActivityPage", () => {
  it("lists events newest first with action, target, result, client and summary", async () => {
    const { transport } = server();
    renderApp({ transport, route: "/activity", token: "t" });
    await screen.findByRole("table", { name: "Audit events" });
    const [setSecret, del] = rows();
    expect(setSecret).toHaveAttribute("data-audit-action", "SetSecret");
    expect(within(setSecret!).getByText("SetSecret").closest("td")).toHaveAttribute("title", "/coderunner.v1.ConfigService/SetSecret");
    expect(within(setSecret!).getByText("Config")).toBeInTheDocument();
    expect(within(setSecret!).getByRole("link", { name: "…88888888" })).toHaveAttribute("href", `/deployments/${DEP}`);
    expect(within(setSecret!).getByText("ok")).toBeInTheDocument();
    expect(within(setSecret!).getByText("127.0.0.1")).toBeInTheDocument();
    expect(within(setSecret!).getByText("deployment_id=8888 name=API_KEY value=[redacted]")).toBeInTheDocument();
    expect(within(setSecret!).getByText("1 min ago")).toBeInTheDocument();
    expect(del).toHaveAttribute("data-audit-code", "failed_precondition");
    expect(within(del!).getByText('project "shop" holds cart')).toBeInTheDocument();
  });

  it("follows new events from after the newest listed one, at the top", async () => {
    const { transport, streams, release } = server();
    renderApp({ transport, route: "/activity", token: "t" });
    await waitFor(() => expect(streams).toHaveLength(1));
    expect(streams[0]?.req.afterId).toBe(12n);
    release();
    await waitFor(() => expect(rows()[0]).toHaveAttribute("data-audit-action", "CreateProject"));
    expect(screen.getByText("Live: new events appear at the top.")).toBeInTheDocument();
    expect(rows().map((r) => r.getAttribute("data-audit-action"))).toEqual(["CreateProject", "SetSecret", "DeleteProject"]);
  });

  it("resumes after the last event received when the stream drops, missing none and repeating none", async () => {
    const { transport, streams, release } = server({ dropAfterFirst: true });
    renderApp({ transport, route: "/activity", token: "t" });
    release();
    await waitFor(() => expect(rows()[0]).toHaveAttribute("data-audit-action", "DeleteSecret"), { timeout: 3000 });
    expect(streams.map((s) => s.req.afterId)).toEqual([12n, 13n]);
    expect(rows().map((r) => r.getAttribute("data-audit-action"))).toEqual(["DeleteSecret", "CreateProject", "SetSecret", "DeleteProject"]);
  });

  it("loads older pages with the page token", async () => {
    const { transport } = server();
    renderApp({ transport, route: "/activity", token: "t" });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Load older" }));
    await waitFor(() => expect(rows()).toHaveLength(3));
    expect(rows()[2]).toHaveAttribute("data-audit-action", "Login");
    expect(screen.queryByRole("button", { name: "Load older" })).toBeNull();
  });

  it("stops the stream when the page is left", async () => {
    const { transport, streams } = server();
    const { unmount } = renderApp({ transport, route: "/activity", token: "t" });
    await waitFor(() => expect(streams).toHaveLength(1));
    unmount();
    await waitFor(() => expect(streams[0]?.aborted).toBe(true));
  });
});
