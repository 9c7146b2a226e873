import { create } from "@bufbuild/protobuf";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { Check, Copy, KeyRound, Trash2 } from "lucide-react";
import { type FormEvent, useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { ErrorState, FieldError } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input, Select } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/spinner";
import { AuthService } from "@/gen/coderunner/v1/auth_pb";
import { type FormErrors, describeError, formErrors } from "@/lib/errors";
import { formatDateTime, timeAgo, toDate } from "@/lib/format";

const none: FormErrors = { fields: {}, general: [] };

function Profile() {
  const me = useQuery(AuthService.method.verify, {});
  return (
    <Card>
      <CardHeader>
        <CardTitle>Profile</CardTitle>
      </CardHeader>
      <CardContent>
        {me.isPending ? (
          <Skeleton className="h-10" />
        ) : me.error ? (
          <ErrorState error={me.error} onRetry={() => void me.refetch()} />
        ) : (
          <dl className="grid gap-3 sm:grid-cols-3">
            <div>
              <dt className="text-xs text-muted-foreground">Email</dt>
              <dd className="break-all text-sm font-medium">{me.data.user?.email}</dd>
            </div>
            <div>
              <dt className="text-xs text-muted-foreground">Member since</dt>
              <dd className="text-sm">{formatDateTime(toDate(me.data.user?.createdAt))}</dd>
            </div>
            <div>
              <dt className="text-xs text-muted-foreground">This session expires</dt>
              <dd className="text-sm">{me.data.expiresAt ? formatDateTime(toDate(me.data.expiresAt)) : "never"}</dd>
            </div>
          </dl>
        )}
      </CardContent>
    </Card>
  );
}

function ChangePassword() {
  const change = useMutation(AuthService.method.changePassword);
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [errors, setErrors] = useState<FormErrors>(none);
  const [done, setDone] = useState(false);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors(none);
    setDone(false);
    try {
      await change.mutateAsync({ currentPassword: current, newPassword: next });
      setCurrent("");
      setNext("");
      setDone(true);
    } catch (err) {
      setErrors(formErrors(err, ["current_password", "new_password"]));
    }
  };
  return (
    <Card>
      <CardHeader>
        <CardTitle>Change password</CardTitle>
        <CardDescription>Your other sessions are signed out; API tokens keep working.</CardDescription>
      </CardHeader>
      <CardContent>
        <form onSubmit={onSubmit} className="grid max-w-md gap-4" noValidate>
          <div className="grid gap-1.5">
            <Label htmlFor="current-password">Current password</Label>
            <Input
              id="current-password"
              type="password"
              autoComplete="current-password"
              value={current}
              onChange={(e) => setCurrent(e.target.value)}
              aria-invalid={Boolean(errors.fields.current_password) || undefined}
              aria-describedby="current-password-error"
            />
            <FieldError id="current-password-error" messages={errors.fields.current_password} />
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="new-password">New password</Label>
            <Input
              id="new-password"
              type="password"
              autoComplete="new-password"
              value={next}
              onChange={(e) => setNext(e.target.value)}
              aria-invalid={Boolean(errors.fields.new_password) || undefined}
              aria-describedby="new-password-error"
            />
            <FieldError id="new-password-error" messages={errors.fields.new_password} />
          </div>
          {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
          {done && <Alert tone="info">Password changed. Your other sessions were signed out.</Alert>}
          <div>
            <Button type="submit" disabled={change.isPending}>
              {change.isPending ? "Changing…" : "Change password"}
            </Button>
          </div>
        </form>
      </CardContent>
    </Card>
  );
}

const EXPIRY = [
  { label: "Never expires", seconds: 0 },
  { label: "7 days", seconds: 7 * 86400 },
  { label: "30 days", seconds: 30 * 86400 },
  { label: "90 days", seconds: 90 * 86400 },
  { label: "1 year", seconds: 365 * 86400 },
];

function CopyButton({ text }: { text: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setCopied(false);
    }
  };
  return (
    <Button variant="outline" size="sm" onClick={() => void copy()} aria-label="Copy token">
      {copied ? <Check /> : <Copy />} {copied ? "Copied" : "Copy"}
    </Button>
  );
}

function ApiTokens() {
  const list = useQuery(AuthService.method.listApiTokens, {});
  const createToken = useMutation(AuthService.method.createApiToken);
  const revoke = useMutation(AuthService.method.revokeApiToken);
  const [name, setName] = useState("");
  const [expiry, setExpiry] = useState(0);
  const [errors, setErrors] = useState<FormErrors>(none);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [revokeError, setRevokeError] = useState<string | null>(null);

  const onCreate = async (e: FormEvent) => {
    e.preventDefault();
    setErrors(none);
    try {
      const res = await createToken.mutateAsync({
        name: name.trim(),
        ...(expiry > 0 ? { expiresIn: create(DurationSchema, { seconds: BigInt(expiry) }) } : {}),
      });
      setSecret({ name: res.apiToken?.name ?? name, secret: res.secret });
      setName("");
      void list.refetch();
    } catch (err) {
      setErrors(formErrors(err, ["name", "expires_in"]));
    }
  };

  return (
    <Card>
      <CardHeader>
        <CardTitle>API tokens</CardTitle>
        <CardDescription>
          For scripts and CI: send <code className="font-mono">Authorization: Bearer &lt;token&gt;</code>.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <form onSubmit={onCreate} className="grid gap-3 sm:grid-cols-[minmax(0,1fr)_12rem_auto] sm:items-end" noValidate>
          <div className="grid gap-1.5">
            <Label htmlFor="token-name">Name</Label>
            <Input
              id="token-name"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="github-actions"
              autoComplete="off"
              aria-invalid={Boolean(errors.fields.name) || undefined}
              aria-describedby="token-name-error"
            />
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor="token-expiry">Expiry</Label>
            <Select id="token-expiry" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
              {EXPIRY.map((x) => (
                <option key={x.seconds} value={x.seconds}>
                  {x.label}
                </option>
              ))}
            </Select>
          </div>
          <Button type="submit" disabled={createToken.isPending}>
            <KeyRound /> {createToken.isPending ? "Creating…" : "Create token"}
          </Button>
          <div className="sm:col-span-3">
            <FieldError id="token-name-error" messages={[...(errors.fields.name ?? []), ...(errors.fields.expires_in ?? [])]} />
            {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
          </div>
        </form>

        {secret && (
          <Alert tone="info" className="grid gap-2" data-testid="token-secret">
            <p className="font-medium">Token “{secret.name}” created. Copy it now: it will not be shown again.</p>
            <div className="flex flex-wrap items-center gap-2">
              <code className="min-w-0 flex-1 break-all rounded bg-background px-2 py-1 font-mono text-xs text-foreground">{secret.secret}</code>
              <CopyButton text={secret.secret} />
              <Button variant="ghost" size="sm" onClick={() => setSecret(null)}>
                Done
              </Button>
            </div>
          </Alert>
        )}

        {revokeError && <Alert>{revokeError}</Alert>}
        {list.isPending ? (
          <Skeleton className="h-16" />
        ) : list.error ? (
          <ErrorState error={list.error} onRetry={() => void list.refetch()} />
        ) : list.data.apiTokens.length === 0 ? (
          <p className="text-sm text-muted-foreground">No API tokens.</p>
        ) : (
          <ul className="divide-y rounded-lg border" aria-label="API tokens">
            {list.data.apiTokens.map((t) => (
              <li key={t.id} className="flex flex-wrap items-center justify-between gap-3 px-4 py-3">
                <div className="min-w-0">
                  <p className="font-medium">{t.name}</p>
                  <p className="text-xs text-muted-foreground">
                    <code className="font-mono">{t.prefix}…</code> · created {timeAgo(toDate(t.createdAt))} ·{" "}
                    {t.expiresAt ? `expires ${formatDateTime(toDate(t.expiresAt))}` : "never expires"} ·{" "}
                    {t.lastUsedAt ? `last used ${timeAgo(toDate(t.lastUsedAt))}` : "never used"}
                  </p>
                </div>
                <ConfirmButton
                  variant="outline"
                  size="sm"
                  title={`Revoke “${t.name}”?`}
                  description="Scripts using this token stop working at once."
                  confirmLabel="Revoke"
                  destructive
                  disabled={revoke.isPending}
                  onConfirm={() =>
                    revoke.mutate(
                      { id: t.id },
                      {
                        onSuccess: () => {
                          setRevokeError(null);
                          void list.refetch();
                        },
                        onError: (err) => setRevokeError(describeError(err)),
                      },
                    )
                  }
                >
                  <Trash2 /> Revoke
                </ConfirmButton>
              </li>
            ))}
          </ul>
        )}
      </CardContent>
    </Card>
  );
}

/** AccountPage: profile, password, API tokens. */
export function AccountPage() {
  return (
    <div className="grid gap-6">
      <h1 className="text-2xl font-semibold">Account</h1>
      <Profile />
      <ChangePassword />
      <ApiTokens />
    </div>
  );
}
