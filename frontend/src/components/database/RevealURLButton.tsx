import { useMutation } from "@connectrpc/connect-query";
import { Eye } from "lucide-react";
import { type FormEvent, useState } from "react";
import { CopyButton } from "@/components/CopyButton";
import { FieldError } from "@/components/ErrorState";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog, DialogClose, DialogContent, DialogDescription, DialogTitle, DialogTrigger } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { DatabaseService } from "@/gen/coderunner/v1/database_pb";
import { type FormErrors, formErrors } from "@/lib/errors";
import { ENGINES, type Engine } from "./engines";

const none: FormErrors = { fields: {}, general: [] };

interface RevealProps {
  deploymentId: string;
  engine: Engine;
}

/**
 * RevealForm asks for the account password, then shows the URL
 * RevealDatabaseURL returns. It lives only while the dialog is open: the
 * URL and the password are in its state and in its mutation, which
 * (gcTime 0) leaves the query client's cache as soon as the form
 * unmounts, so nothing of either outlasts the dialog.
 */
function RevealForm({ deploymentId, engine }: RevealProps) {
  const reveal = useMutation(DatabaseService.method.revealDatabaseURL, { gcTime: 0 });
  const [password, setPassword] = useState("");
  const [errors, setErrors] = useState<FormErrors>(none);
  const variable = ENGINES[engine].urlVariable;
  const url = reveal.data?.url;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setErrors(none);
    try {
      await reveal.mutateAsync({ deploymentId, engine, password });
      setPassword("");
    } catch (err) {
      setErrors(formErrors(err, ["password"]));
    }
  };

  if (url) {
    return (
      <div className="grid gap-3">
        <code className="break-all rounded-md border bg-muted px-2 py-1.5 text-xs" aria-label={`${variable} with its password`} data-testid="database-url-revealed">
          {url}
        </code>
        <div className="flex flex-wrap justify-end gap-2">
          <CopyButton text={url} label={`Copy ${variable} with its password`} />
          <DialogClose asChild>
            <Button size="sm">Hide</Button>
          </DialogClose>
        </div>
      </div>
    );
  }
  const id = `reveal-password-${engine}`;
  return (
    <form onSubmit={(e) => void onSubmit(e)} className="grid gap-3" noValidate>
      <div className="grid gap-1.5">
        <Label htmlFor={id}>Your account password</Label>
        <Input
          id={id}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={Boolean(errors.fields.password) || undefined}
          aria-describedby={`${id}-error`}
        />
        <FieldError id={`${id}-error`} messages={errors.fields.password} />
      </div>
      {errors.general.length > 0 && <Alert>{errors.general.join("\n")}</Alert>}
      <div className="flex flex-wrap justify-end gap-2">
        <DialogClose asChild>
          <Button variant="outline">Cancel</Button>
        </DialogClose>
        <Button type="submit" disabled={reveal.isPending || password === ""}>
          {reveal.isPending ? "Checking…" : "Reveal"}
        </Button>
      </div>
    </form>
  );
}

/**
 * RevealURLButton opens a dialog that shows an engine's URL with its
 * password once the account password is checked again. Closing the
 * dialog forgets the URL.
 */
export function RevealURLButton({ deploymentId, engine }: RevealProps) {
  const variable = ENGINES[engine].urlVariable;
  return (
    <Dialog>
      <DialogTrigger asChild>
        <Button variant="outline" size="sm" aria-label={`Reveal ${variable}`}>
          <Eye /> Reveal
        </Button>
      </DialogTrigger>
      <DialogContent>
        <DialogTitle>Reveal {variable}</DialogTitle>
        <DialogDescription>
          The URL with its password, as the app sees it. Enter your account password to show it; it is hidden again when this dialog
          closes.
        </DialogDescription>
        <RevealForm deploymentId={deploymentId} engine={engine} />
      </DialogContent>
    </Dialog>
  );
}
