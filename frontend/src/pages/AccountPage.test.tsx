import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { ViolationsSchema } from "@/gen/buf/validate/validate_pb";
import { type ApiToken, ApiTokenSchema, AuthService, type CreateApiTokenRequest } from "@/gen/coderunner/v1/auth_pb";
import { renderApp } from "@/test/render";

describe("AccountPage", () => {
  it("creates a token, shows its secret once, and revokes it", async () => {
    const user = userEvent.setup();
    let tokens: ApiToken[] = [];
    const created: CreateApiTokenRequest[] = [];
    renderApp({
      route: "/account",
      token: "t",
      routes: ({ service }) => {
        service(AuthService, {
          verify: () => ({ user: { id: "u", email: "ada@example.com", createdAt: timestampFromMs(Date.now()) } }),
          listApiTokens: () => ({ apiTokens: tokens }),
          createApiToken(req) {
            created.push(req);
            const t = create(ApiTokenSchema, {
              id: "66666666-6666-4666-8666-666666666666",
              name: req.name,
              prefix: "crt_abcdef",
              createdAt: timestampFromMs(Date.now()),
            });
            tokens = [t];
            return { apiToken: t, secret: "crt_abcdef-the-whole-secret" };
          },
          revokeApiToken(req) {
            tokens = tokens.filter((t) => t.id !== req.id);
            return {};
          },
        });
      },
    });
    expect((await screen.findAllByText("ada@example.com")).length).toBeGreaterThan(0);
    expect(await screen.findByText("No API tokens.")).toBeInTheDocument();
    await user.type(screen.getByLabelText("Name"), "ci");
    await user.selectOptions(screen.getByLabelText("Expiry"), "30 days");
    await user.click(screen.getByRole("button", { name: "Create token" }));
    const secret = await screen.findByTestId("token-secret");
    expect(secret).toHaveTextContent("crt_abcdef-the-whole-secret");
    expect(secret).toHaveTextContent("it will not be shown again");
    expect(created[0]?.expiresIn?.seconds).toBe(2_592_000n);
    const list = await screen.findByRole("list", { name: "API tokens" });
    expect(within(list).getByText("ci")).toBeInTheDocument();
    await user.click(within(secret).getByRole("button", { name: "Done" }));
    expect(screen.queryByText("crt_abcdef-the-whole-secret")).toBeNull();
    await user.click(within(list).getByRole("button", { name: "Revoke" }));
    await user.click(within(await screen.findByRole("alertdialog")).getByRole("button", { name: "Revoke" }));
    expect(await screen.findByText("No API tokens.")).toBeInTheDocument();
  });

  it("shows a wrong current password on its field", async () => {
    const user = userEvent.setup();
    renderApp({
      route: "/account",
      token: "t",
      routes: ({ service }) => {
        service(AuthService, {
          verify: () => ({ user: { id: "u", email: "ada@example.com" } }),
          listApiTokens: () => ({ apiTokens: [] }),
          changePassword() {
            throw new ConnectError("current password is wrong", Code.InvalidArgument, undefined, [
              {
                desc: ViolationsSchema,
                value: create(ViolationsSchema, {
                  violations: [{ field: { elements: [{ fieldName: "current_password" }] }, message: "is not correct" }],
                }),
              },
            ]);
          },
        });
      },
    });
    await user.type(await screen.findByLabelText("Current password"), "nope");
    await user.type(screen.getByLabelText("New password"), "another good one");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    await waitFor(() => expect(screen.getByText("is not correct")).toBeInTheDocument());
    expect(screen.getByLabelText("Current password")).toHaveAttribute("aria-invalid", "true");
  });
});
