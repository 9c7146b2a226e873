import { Badge } from "@/components/ui/badge";
import type { DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { cn } from "@/lib/cn";
import { type Tone, isInProgress, statusLabel, statusTone } from "@/lib/format";

const dot: Record<Tone, string> = {
  success: "bg-emerald-500",
  danger: "bg-red-500",
  info: "bg-sky-500",
  warning: "bg-amber-500",
  neutral: "bg-zinc-400",
  asleep: "bg-violet-400",
};

/** StatusBadge shows a deployment status in words and colour; data-status holds the word in lower case ("asleep" for IDLE). */
export function StatusBadge({ status, className }: { status: DeploymentStatus; className?: string }) {
  const tone = statusTone(status);
  return (
    <Badge tone={tone} className={className} data-status={statusLabel(status).toLowerCase()}>
      <span className={cn("size-1.5 rounded-full", dot[tone], isInProgress(status) && "animate-pulse")} aria-hidden />
      {statusLabel(status)}
    </Badge>
  );
}
