// Turning errors from the server into words: Connect errors carry a code, a
// message for people and, for validation failures, buf.validate.Violations
// details that name the offending fields.

import { Code, ConnectError } from "@connectrpc/connect";
import {
  type FieldPath,
  type Violation,
  ViolationsSchema,
} from "@/gen/buf/validate/validate_pb";

/** FieldViolation is one server-side validation failure. */
export interface FieldViolation {
  /** The full path, e.g. "files[0].path" or "env[\"PORT\"]"; "" for the whole request. */
  path: string;
  /** The top-level field as named in the proto (snake_case), e.g. "current_password"; "" if none. */
  field: string;
  /** What is wrong, for people. */
  message: string;
}

/** FormErrors splits violations into per-field messages and the rest. */
export interface FormErrors {
  fields: Record<string, string[]>;
  general: string[];
}

function pathToString(path: FieldPath | undefined): string {
  if (!path) return "";
  let out = "";
  for (const el of path.elements) {
    out += out ? `.${el.fieldName}` : el.fieldName;
    switch (el.subscript.case) {
      case "index":
      case "intKey":
      case "uintKey":
        out += `[${el.subscript.value.toString()}]`;
        break;
      case "boolKey":
        out += `[${String(el.subscript.value)}]`;
        break;
      case "stringKey":
        out += `[${JSON.stringify(el.subscript.value)}]`;
        break;
      default:
        break;
    }
  }
  return out;
}

function toFieldViolation(v: Violation): FieldViolation {
  return {
    path: pathToString(v.field),
    field: v.field?.elements[0]?.fieldName ?? "",
    message: v.message || v.ruleId || "is not valid",
  };
}

/** violationsOf returns the field violations attached to err, if any. */
export function violationsOf(err: unknown): FieldViolation[] {
  if (!(err instanceof ConnectError)) return [];
  const out: FieldViolation[] = [];
  for (const detail of err.findDetails(ViolationsSchema)) {
    for (const v of detail.violations) out.push(toFieldViolation(v));
  }
  return out;
}

function isNetworkFailure(err: ConnectError): boolean {
  const m = err.rawMessage.toLowerCase();
  return (
    err.code === Code.Unavailable ||
    m.includes("failed to fetch") ||
    m.includes("networkerror") ||
    m.includes("load failed") ||
    m.includes("network error")
  );
}

/**
 * describeError returns one readable sentence (or a few lines) for any
 * thrown value; never "[object Object]".
 */
export function describeError(err: unknown): string {
  if (err instanceof ConnectError || (typeof err === "object" && err !== null && "code" in err && "rawMessage" in err)) {
    const ce = ConnectError.from(err);
    if (ce.code === Code.Canceled) return "The request was cancelled.";
    if (isNetworkFailure(ce)) return "Cannot reach the CodeRunner server. Check that it is running and try again.";
    const violations = violationsOf(ce);
    if (violations.length > 0) {
      return violations.map((v) => (v.path ? `${v.path}: ${v.message}` : v.message)).join("\n");
    }
    if (ce.code === Code.Unimplemented) {
      return ce.rawMessage ? `Not available on this server yet (${ce.rawMessage}).` : "Not available on this server yet.";
    }
    return ce.rawMessage || codeLabel(ce.code);
  }
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === "string") return err;
  return "Something went wrong.";
}

/** codeLabel names a Connect code in words. */
export function codeLabel(code: Code): string {
  switch (code) {
    case Code.InvalidArgument:
      return "The request was not valid.";
    case Code.NotFound:
      return "Not found.";
    case Code.AlreadyExists:
      return "It already exists.";
    case Code.PermissionDenied:
      return "You are not allowed to do that.";
    case Code.Unauthenticated:
      return "Please sign in again.";
    case Code.ResourceExhausted:
      return "Too many requests or a limit was reached.";
    case Code.FailedPrecondition:
      return "That cannot be done in the current state.";
    case Code.Unimplemented:
      return "Not available on this server yet.";
    case Code.Unavailable:
      return "The server is unavailable.";
    case Code.DeadlineExceeded:
      return "The request timed out.";
    default:
      return "Something went wrong on the server.";
  }
}

/**
 * formErrors maps an error onto a form: violations of fields listed in
 * known go to fields (keyed by the proto field name), everything else to
 * general.
 */
export function formErrors(err: unknown, known: readonly string[]): FormErrors {
  const result: FormErrors = { fields: {}, general: [] };
  if (err == null) return result;
  const violations = violationsOf(err);
  if (violations.length === 0) {
    result.general.push(describeError(err));
    return result;
  }
  for (const v of violations) {
    if (v.field && known.includes(v.field)) {
      (result.fields[v.field] ??= []).push(v.path === v.field ? v.message : `${v.path}: ${v.message}`);
    } else {
      result.general.push(v.path ? `${v.path}: ${v.message}` : v.message);
    }
  }
  return result;
}
