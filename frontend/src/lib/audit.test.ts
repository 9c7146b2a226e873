import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AuditEventSchema } from "@/gen/coderunner/v1/audit_pb";
import { mergeEvents, shortAction } from "./audit";

describe("shortAction", () => {
  it("names a procedure by its method and its service without the package", () => {
    expect(shortAction("/coderunner.v1.ConfigService/SetSecret")).toEqual({ method: "SetSecret", service: "Config" });
    expect(shortAction("coderunner.v1.ProjectService/CreateProject")).toEqual({ method: "CreateProject", service: "Project" });
  });

  it("keeps what is not a procedure as it is", () => {
    expect(shortAction("login")).toEqual({ method: "login", service: "" });
    expect(shortAction("")).toEqual({ method: "", service: "" });
  });
});

describe("mergeEvents", () => {
  const ev = (id: bigint, summary = "") => create(AuditEventSchema, { id, summary });
  it("puts live and listed events in one list, newest first, each id once", () => {
    const merged = mergeEvents([ev(7n, "live"), ev(6n, "live")], [ev(6n, "listed"), ev(5n), ev(3n)]);
    expect(merged.map((e) => e.id)).toEqual([7n, 6n, 5n, 3n]);
    expect(merged[1]?.summary).toBe("live");
  });
});
