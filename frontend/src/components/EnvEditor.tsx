import { Plus, X } from "lucide-react";
import { useId } from "react";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";

export interface EnvRow {
  key: string;
  value: string;
}

export function envToRows(env: Record<string, string>): EnvRow[] {
  return Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ key, value }));
}

/** rowsToEnv drops rows without a key; a later duplicate key wins. */
export function rowsToEnv(rows: readonly EnvRow[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const r of rows) {
    const k = r.key.trim();
    if (k) env[k] = r.value;
  }
  return env;
}

/** sameEnv says whether two variable maps hold the same pairs. */
export function sameEnv(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** sameRows compares rows as the env they save, so order and blank rows do not count. */
export function sameRows(a: readonly EnvRow[], b: readonly EnvRow[]): boolean {
  return sameEnv(rowsToEnv(a), rowsToEnv(b));
}

/** EnvEditor edits environment variables as key/value rows. */
export function EnvEditor({ rows, onChange, disabled }: { rows: EnvRow[]; onChange: (rows: EnvRow[]) => void; disabled?: boolean }) {
  const id = useId();
  const set = (i: number, patch: Partial<EnvRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <div className="grid gap-2">
      {rows.length === 0 && <p className="text-sm text-muted-foreground">No variables. PORT and HOST are set by CodeRunner.</p>}
      {rows.map((r, i) => (
        <div key={i} className="grid grid-cols-[minmax(0,1fr)_minmax(0,1.5fr)_auto] gap-2">
          <Input
            aria-label={`Variable ${i + 1} name`}
            placeholder="NAME"
            value={r.key}
            onChange={(e) => set(i, { key: e.target.value })}
            className="font-mono"
            autoComplete="off"
            spellCheck={false}
            disabled={disabled}
            id={`${id}-k${i}`}
          />
          <Input
            aria-label={`Variable ${i + 1} value`}
            placeholder="value"
            value={r.value}
            onChange={(e) => set(i, { value: e.target.value })}
            className="font-mono"
            autoComplete="off"
            spellCheck={false}
            disabled={disabled}
          />
          <Button
            variant="ghost"
            size="icon"
            onClick={() => onChange(rows.filter((_, j) => j !== i))}
            aria-label={`Remove variable ${r.key || i + 1}`}
            disabled={disabled}
          >
            <X />
          </Button>
        </div>
      ))}
      <div>
        <Button variant="outline" size="sm" onClick={() => onChange([...rows, { key: "", value: "" }])} disabled={disabled}>
          <Plus /> Add variable
        </Button>
      </div>
    </div>
  );
}
