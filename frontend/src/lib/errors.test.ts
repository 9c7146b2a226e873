import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { codeLabel, describeError, formErrors, violationsOf } from "./errors";

// The details the server attaches for `{"email":"bad","password":"short"}`
// plus a message-level (CEL) violation and a map key path.
function validationError(): ConnectError {
  const violations = create(ViolationsSchema, {
    violations: [
      { field: { elements: [{ fieldName: "email", fieldNumber: 1 }] }, ruleId: "string.email", message: "must be a valid email address" },
      { field: { elements: [{ fieldName: "password", fieldNumber: 2 }] }, ruleId: "string.min_len", message: "must be at least 8 characters" },
      { ruleId: "password_not_email", message: "password must not be the same as the email address" },
      {
        field: { elements: [{ fieldName: "env", subscript: { case: "stringKey", value: "PORT" } }] },
        ruleId: "env_reserved",
        message: "PORT and HOST are set by CodeRunner",
      },
      {
        field: { elements: [{ fieldName: "files", subscript: { case: "index", value: 2n } }, { fieldName: "path" }] },
        ruleId: "path_relative",
        message: "path must be relative (no leading slash)",
      },
    ],
  });
  return new ConnectError("validation errors", Code.InvalidArgument, undefined, [{ desc: ViolationsSchema, value: violations }]);
}

describe("violationsOf", () => {
  it("reads buf.validate.Violations details with field paths", () => {
    expect(violationsOf(validationError())).toEqual([
      { path: "email", field: "email", message: "must be a valid email address" },
      { path: "password", field: "password", message: "must be at least 8 characters" },
      { path: "", field: "", message: "password must not be the same as the email address" },
      { path: 'env["PORT"]', field: "env", message: "PORT and HOST are set by CodeRunner" },
      { path: "files[2].path", field: "files", message: "path must be relative (no leading slash)" },
    ]);
  });

  it("survives the trip through a transport (details encoded and decoded)", async () => {
    const transport = createRouterTransport(({ service }) => {
      service(AuthService, {
        register() {
          throw validationError();
        },
      });
    });
    const client = createClient(AuthService, transport);
    const err = await client.register({ email: "bad", password: "short" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect(violationsOf(err).map((v) => v.field)).toEqual(["email", "password", "", "env", "files"]);
  });
});

describe("formErrors", () => {
  it("puts known fields beside their inputs and the rest in general", () => {
    const f = formErrors(validationError(), ["email", "password", "env"]);
    expect(f.fields).toEqual({
      email: ["must be a valid email address"],
      password: ["must be at least 8 characters"],
      env: ['env["PORT"]: PORT and HOST are set by CodeRunner'],
    });
    expect(f.general).toEqual([
      "password must not be the same as the email address",
      "files[2].path: path must be relative (no leading slash)",
    ]);
  });

  it("uses the readable message when there are no violations", () => {
    const f = formErrors(new ConnectError("invalid email or password", Code.Unauthenticated), ["email"]);
    expect(f).toEqual({ fields: {}, general: ["invalid email or password"] });
  });
});

describe("describeError", () => {
  it("never shows [object Object]", () => {
    for (const v of [{}, { foo: 1 }, null, undefined, 42, [1, 2]]) {
      const text = describeError(v);
      expect(text).not.toContain("[object");
      expect(text.length).toBeGreaterThan(0);
    }
  });

  it("uses the server's message without the code prefix", () => {
    const err = new ConnectError("an account with this email already exists; sign in instead", Code.AlreadyExists);
    expect(err.message).toContain("[already_exists]");
    expect(describeError(err)).toBe("an account with this email already exists; sign in instead");
  });

  it("lists violations one per line", () => {
    expect(describeError(validationError()).split("\n")).toHaveLength(5);
  });

  it("explains network failures and unimplemented RPCs", () => {
    expect(describeError(new ConnectError("Failed to fetch", Code.Unknown))).toMatch(/Cannot reach/);
    expect(describeError(new ConnectError("", Code.Unimplemented))).toBe("Not available on this server yet.");
    expect(describeError(new Error("boom"))).toBe("boom");
    expect(describeError(new ConnectError("", Code.NotFound))).toBe(codeLabel(Code.NotFound));
  });
});
