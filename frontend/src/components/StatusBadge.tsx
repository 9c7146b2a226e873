import { Badge } from "@/components/ui/badge";
import type { DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { cn } from "@/lib/cn";
import { isInProgress, statusLabel, statusTone } from "@/lib/format";

const dot: Record<string, string> = {
  success: "bg-emerald-500",
  danger: "bg-red-500",
  info: "bg-sky-500",
  warning: "bg-amber-500",
  neutral: "bg-zinc-400",
};

export function StatusBadge({ status, className }: { status: DeploymentStatus; className?: string }) {
  const tone = statusTone(status);
  return (
    <Badge tone={tone} className={className} data-status={statusLabel(status).toLowerCase()}>
      <span className={cn("size-1.5 rounded-full", dot[tone], isInProgress(status) && "animate-pulse")} aria-hidden />
      {statusLabel(status)}
    </Badge>
  );
}
