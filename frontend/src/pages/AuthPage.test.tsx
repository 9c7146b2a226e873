import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { DeploymentService } from "@/gen/coderunner/v1/deployment_pb";
import { MetricsService } from "@/gen/coderunner/v1/metrics_pb";
import { renderApp } from "@/test/render";

function violation(field: string, message: string) {
  return { field: { elements: [{ fieldName: field }] }, message, ruleId: "x" };
}

function fakeServer(onLogin: (email: string, password: string) => void = () => {}) {
  return createRouterTransport(({ service }) => {
    service(AuthService, {
      register(req) {
        if (req.email === "taken@example.com") {
          throw new ConnectError("an account with this email already exists; sign in instead", Code.AlreadyExists, undefined, [
            { desc: ViolationsSchema, value: create(ViolationsSchema, { violations: [violation("email", "an account with this email already exists; sign in instead")] }) },
          ]);
        }
        if (req.password.length < 8 || !req.email.includes("@")) {
          const v = [];
          if (!req.email.includes("@")) v.push(violation("email", "must be a valid email address"));
          if (req.password.length < 8) v.push(violation("password", "must be at least 8 characters"));
          throw new ConnectError("validation errors", Code.InvalidArgument, undefined, [
            { desc: ViolationsSchema, value: create(ViolationsSchema, { violations: v }) },
          ]);
        }
        return { user: { id: "u1", email: req.email } };
      },
      login(req) {
        onLogin(req.email, req.password);
        if (req.password !== "correct horse battery") throw new ConnectError("invalid email or password", Code.Unauthenticated);
        return { token: "session-token", user: { id: "u1", email: req.email } };
      },
      verify() {
        return { user: { id: "u1", email: "ada@example.com" } };
      },
      logout() {
        onLogin("logout", "");
        return {};
      },
      listApiTokens() {
        return { apiTokens: [] };
      },
    });
    service(DeploymentService, {
      listDeployments() {
        return { deployments: [], totalSize: 0 };
      },
      async *watchDeployments() {
        yield {};
      },
    });
    service(MetricsService, {
      getOverview() {
        return { overview: { totalDeployments: 0, statusCounts: [] } };
      },
    });
  });
}

describe("AuthPage", () => {
  it("shows the server's field violations beside the fields", async () => {
    const user = userEvent.setup();
    renderApp({ transport: fakeServer(), route: "/register" });
    await user.type(screen.getByLabelText("Email"), "not-an-email");
    await user.type(screen.getByLabelText("Password"), "short");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("must be a valid email address")).toBeInTheDocument();
    expect(screen.getByText("must be at least 8 characters")).toBeInTheDocument();
    expect(screen.getByLabelText("Email")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByLabelText("Email")).toHaveAttribute("aria-describedby", "email-error");
    expect(document.body.textContent).not.toContain("[object Object]");
  });

  it("shows an already-registered email on the email field", async () => {
    const user = userEvent.setup();
    renderApp({ transport: fakeServer(), route: "/register" });
    await user.type(screen.getByLabelText("Email"), "taken@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByText("an account with this email already exists; sign in instead")).toBeInTheDocument();
  });

  it("registers, signs in, keeps the token and opens the deployments", async () => {
    const user = userEvent.setup();
    const logins: string[] = [];
    const { tokenStore } = renderApp({ transport: fakeServer((e) => logins.push(e)), route: "/register" });
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Create account" }));
    expect(await screen.findByRole("heading", { name: "No deployments yet" })).toBeInTheDocument();
    expect(logins).toEqual(["ada@example.com"]);
    expect(tokenStore.get()).toBe("session-token");
  });

  it("shows a wrong password as a readable message", async () => {
    const user = userEvent.setup();
    renderApp({ transport: fakeServer(), route: "/login" });
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("invalid email or password");
  });

  it("sends signed-out visitors to the sign-in page", async () => {
    renderApp({ transport: fakeServer(), route: "/account" });
    await waitFor(() => expect(screen.getByRole("heading", { name: "Sign in" })).toBeInTheDocument());
  });

  it("signs out with Logout and starts at home after the next sign-in", async () => {
    const user = userEvent.setup();
    const calls: string[] = [];
    const { tokenStore } = renderApp({ transport: fakeServer((e) => calls.push(e)), route: "/account", token: "old-token" });
    await screen.findByRole("heading", { name: "Account" });
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(calls).toEqual(["logout"]);
    expect(tokenStore.get()).toBeNull();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "correct horse battery");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Deployments", level: 1 })).toBeInTheDocument();
  });

  it("returns to the page asked for when the server rejected the session", async () => {
    const user = userEvent.setup();
    const { tokenStore } = renderApp({
      routes: ({ service }) => {
        service(AuthService, {
          verify(_req, ctx) {
            if (ctx.requestHeader.get("Authorization") === "Bearer revoked") throw new ConnectError("session revoked", Code.Unauthenticated);
            return { user: { id: "u1", email: "ada@example.com" } };
          },
          listApiTokens(_req, ctx) {
            if (ctx.requestHeader.get("Authorization") === "Bearer revoked") throw new ConnectError("session revoked", Code.Unauthenticated);
            return { apiTokens: [] };
          },
          login: () => ({ token: "new-token" }),
        });
      },
      route: "/account",
      token: "revoked",
    });
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(tokenStore.get()).toBeNull();
    await user.type(screen.getByLabelText("Email"), "ada@example.com");
    await user.type(screen.getByLabelText("Password"), "x");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Account" })).toBeInTheDocument();
  });
});
