import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { describeError } from "@/lib/errors";

/** ErrorState shows a failed load with a retry button. */
export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  return (
    <Alert className="flex flex-col gap-2 sm:flex-row sm:items-start sm:justify-between">
      <div>
        {title && <p className="font-medium">{title}</p>}
        <p>{describeError(error)}</p>
      </div>
      {onRetry && (
        <Button variant="outline" size="sm" onClick={onRetry}>
          Try again
        </Button>
      )}
    </Alert>
  );
}

/** FieldError lists the messages for one form field. */
export function FieldError({ id, messages }: { id: string; messages: readonly string[] | undefined }) {
  if (!messages || messages.length === 0) return null;
  return (
    <p id={id} className="text-sm text-red-700 dark:text-red-300" data-field-error>
      {messages.join(" ")}
    </p>
  );
}
