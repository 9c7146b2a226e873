import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { Card } from "@/components/ui/card";
import type { ColdStart } from "@/gen/coderunner/v1/metrics_pb";
import { formatDateTime, formatNumber, timeAgo } from "@/lib/format";

/** ColdStarts lists the last wakes of an asleep deployment, newest first: when, how long, requests held, and why one failed. */
export function ColdStarts({ coldStarts }: { coldStarts: readonly ColdStart[] }) {
  if (coldStarts.length === 0) return null;
  return (
    <Card className="p-4">
      <h3 className="mb-2 text-sm font-medium text-muted-foreground">Cold starts</h3>
      <table className="w-full text-sm" aria-label="Cold starts">
        <thead className="text-left text-xs text-muted-foreground">
          <tr>
            <th className="py-1 font-medium">When</th>
            <th className="py-1 font-medium">Took</th>
            <th className="py-1 font-medium">Held requests</th>
            <th className="py-1 font-medium">Result</th>
          </tr>
        </thead>
        <tbody className="tabular-nums">
          {coldStarts.map((c, i) => {
            const at = c.at ? timestampDate(c.at) : undefined;
            return (
              <tr key={`${at?.getTime() ?? 0}-${i}`} className="border-t" data-cold-start>
                <td className="py-1" title={formatDateTime(at)}>
                  {timeAgo(at)}
                </td>
                <td className="py-1">{c.took ? `${formatNumber(durationMs(c.took))} ms` : "—"}</td>
                <td className="py-1">{formatNumber(c.heldRequests)}</td>
                <td className={c.error ? "py-1 text-red-700 dark:text-red-300" : "py-1"}>{c.error || "woke"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </Card>
  );
}
