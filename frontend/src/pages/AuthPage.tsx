import { useMutation } from "@connectrpc/connect-query";
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { FieldError } from "@/components/ErrorState";
import { ThemeToggle } from "@/components/Layout";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { useSession } from "@/lib/auth";
import { type FormErrors, formErrors } from "@/lib/errors";

const FIELDS = ["email", "password"] as const;

/** AuthPage signs in or registers (then signs in). */
export function AuthPage({ mode }: { mode: "login" | "register" }) {
  const session = useSession();
  const register = useMutation(AuthService.method.register);
  const login = useMutation(AuthService.method.login);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FormErrors>({ fields: {}, general: [] });
  const busy = register.isPending || login.isPending;
  const isRegister = mode === "register";

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors({ fields: {}, general: [] });
    try {
      if (isRegister) await register.mutateAsync({ email, password });
      const res = await login.mutateAsync({ email, password });
      // The route guard then leaves this page (for the page asked for, or home).
      session.signIn(res.token);
    } catch (err) {
      setErrors(formErrors(err, FIELDS));
    }
  };

  const fieldProps = (name: (typeof FIELDS)[number]) => {
    const invalid = (errors.fields[name]?.length ?? 0) > 0;
    return {
      id: name,
      name,
      "aria-invalid": invalid || undefined,
      "aria-describedby": invalid ? `${name}-error` : undefined,
    };
  };

  return (
    <div className="flex min-h-dvh flex-col items-center justify-center px-4 py-10">
      <div className="absolute right-3 top-3">
        <ThemeToggle />
      </div>
      <div className="mb-6 flex items-center gap-2 text-xl font-semibold">
        <img src="/favicon.svg" alt="" className="size-8" /> CodeRunner
      </div>
      <Card className="w-full max-w-sm">
        <CardHeader>
          <h1 className="text-lg font-semibold leading-none">{isRegister ? "Create an account" : "Sign in"}</h1>
          <CardDescription>
            {isRegister ? "Deploy Node.js apps and manifest APIs in seconds." : "Welcome back. Sign in to manage your deployments."}
          </CardDescription>
        </CardHeader>
        <CardContent>
          <form onSubmit={onSubmit} className="grid gap-4" noValidate>
            {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
            <div className="grid gap-1.5">
              <Label htmlFor="email">Email</Label>
              <Input
                {...fieldProps("email")}
                type="email"
                autoComplete="email"
                value={email}
                onChange={(e) => setEmail(e.target.value)}
                required
              />
              <FieldError id="email-error" messages={errors.fields.email} />
            </div>
            <div className="grid gap-1.5">
              <Label htmlFor="password">Password</Label>
              <Input
                {...fieldProps("password")}
                type="password"
                autoComplete={isRegister ? "new-password" : "current-password"}
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                required
              />
              {isRegister && !errors.fields.password && (
                <p className="text-xs text-muted-foreground">8 to 128 characters.</p>
              )}
              <FieldError id="password-error" messages={errors.fields.password} />
            </div>
            <Button type="submit" disabled={busy}>
              {busy ? (isRegister ? "Creating account…" : "Signing in…") : isRegister ? "Create account" : "Sign in"}
            </Button>
          </form>
          <p className="mt-4 text-center text-sm text-muted-foreground">
            {isRegister ? (
              <>
                Already have an account? <Link className="text-primary underline-offset-4 hover:underline" to="/login">Sign in</Link>
              </>
            ) : (
              <>
                New to CodeRunner? <Link className="text-primary underline-offset-4 hover:underline" to="/register">Create an account</Link>
              </>
            )}
          </p>
        </CardContent>
      </Card>
    </div>
  );
}
