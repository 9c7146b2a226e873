import type * as React from "react";
import { cn } from "@/lib/cn";

export function Alert({
  className,
  tone = "danger",
  ...props
}: React.ComponentProps<"div"> & { tone?: "danger" | "info" | "warning" }) {
  return (
    <div
      role={tone === "danger" ? "alert" : "status"}
      className={cn(
        "rounded-lg border px-4 py-3 text-sm whitespace-pre-line",
        tone === "danger" && "border-red-500/40 bg-red-500/10 text-red-800 dark:text-red-200",
        tone === "info" && "border-sky-500/40 bg-sky-500/10 text-sky-800 dark:text-sky-200",
        tone === "warning" && "border-amber-500/40 bg-amber-500/10 text-amber-900 dark:text-amber-100",
        className,
      )}
      {...props}
    />
  );
}
