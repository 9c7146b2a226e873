import { useMutation } from "@connectrpc/connect-query";
import { useQueryClient } from "@tanstack/react-query";
import { Play, RotateCw, Square, Trash2 } from "lucide-react";
import { useState } from "react";
import { ConfirmButton } from "@/components/ConfirmButton";
import { Button } from "@/components/ui/button";
import { type Deployment, DeploymentService } from "@/gen/coderunner/v1/deployment_pb";
import { cn } from "@/lib/cn";
import { describeError } from "@/lib/errors";
import { canRestart, canStart, canStop } from "@/lib/format";

interface Props {
  deployment: Deployment;
  /** Called with the deployment an action returned. */
  onChanged?: (d: Deployment | undefined) => void;
  onDeleted?: () => void;
  /** Icon-only buttons (for table rows). */
  compact?: boolean;
  className?: string;
}

/** DeploymentActions: start, stop, restart and delete, each confirmed. */
export function DeploymentActions({ deployment: d, onChanged, onDeleted, compact, className }: Props) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const done = {
    onSuccess: (res: { deployment?: Deployment }) => {
      setError(null);
      onChanged?.(res.deployment);
      void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
    },
    onError: (err: unknown) => setError(describeError(err)),
  };
  const start = useMutation(DeploymentService.method.startDeployment, done);
  const stop = useMutation(DeploymentService.method.stopDeployment, done);
  const restart = useMutation(DeploymentService.method.restartDeployment, done);
  const del = useMutation(DeploymentService.method.deleteDeployment, {
    onSuccess: () => {
      setError(null);
      void queryClient.invalidateQueries({ queryKey: ["connect-query"] });
      onDeleted?.();
    },
    onError: (err: unknown) => setError(describeError(err)),
  });
  const busy = start.isPending || stop.isPending || restart.isPending || del.isPending;
  const size = compact ? "icon" : "sm";
  const label = (text: string) => (compact ? <span className="sr-only">{text}</span> : text);
  const name = d.name;

  return (
    <div className={cn("flex flex-col gap-1", className)}>
      <div className="flex flex-wrap items-center gap-1.5">
        {canStart(d.status) && (
          <Button
            size={size}
            variant="outline"
            disabled={busy}
            onClick={() => start.mutate({ id: d.id })}
            title={`Start ${name}`}
            aria-label={compact ? `Start ${name}` : undefined}
          >
            <Play /> {label("Start")}
          </Button>
        )}
        {canStop(d.status) && (
          <ConfirmButton
            size={size}
            variant="outline"
            disabled={busy}
            title={`Stop ${name}?`}
            description="Its processes are stopped and its URL answers 503 until you start it again. Its data is kept."
            confirmLabel="Stop"
            onConfirm={() => stop.mutate({ id: d.id })}
            aria-label={compact ? `Stop ${name}` : undefined}
          >
            <Square /> {label("Stop")}
          </ConfirmButton>
        )}
        {canRestart(d.status) && (
          <ConfirmButton
            size={size}
            variant="outline"
            disabled={busy}
            title={`Restart ${name}?`}
            description="New processes start without rebuilding; the running ones keep serving until the new ones are ready."
            confirmLabel="Restart"
            onConfirm={() => restart.mutate({ id: d.id })}
            aria-label={compact ? `Restart ${name}` : undefined}
          >
            <RotateCw /> {label("Restart")}
          </ConfirmButton>
        )}
        <ConfirmButton
          size={size}
          variant={compact ? "ghost" : "outline"}
          className="text-red-700 hover:text-red-800 dark:text-red-300"
          disabled={busy}
          title={`Delete ${name}?`}
          description="This stops the deployment and removes its source, data and logs. It cannot be undone."
          confirmLabel="Delete"
          destructive
          onConfirm={() => del.mutate({ id: d.id })}
          aria-label={compact ? `Delete ${name}` : undefined}
        >
          <Trash2 /> {label("Delete")}
        </ConfirmButton>
      </div>
      {error && (
        <p role="alert" className="max-w-xs text-xs text-red-700 dark:text-red-300">
          {error}
        </p>
      )}
    </div>
  );
}
