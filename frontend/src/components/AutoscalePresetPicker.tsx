import { cn } from "@/lib/cn";
import { TEMPLATES, type TemplateName, templateNumbers } from "@/lib/autoscale";

/**
 * AutoscalePresetPicker offers the server's five templates, each with its
 * numbers, and "Custom" (no template). Choosing one is the caller's to
 * act on (the card fills its fields from it).
 */
export function AutoscalePresetPicker({
  value,
  onChange,
  disabled,
}: {
  value: TemplateName;
  onChange: (t: TemplateName) => void;
  disabled?: boolean;
}) {
  const options: { name: TemplateName; label: string; summary: string; numbers: string }[] = [
    ...TEMPLATES.map((t) => ({ name: t.name, label: t.label, summary: t.summary, numbers: templateNumbers(t) })),
    { name: "", label: "Custom", summary: "No preset: the fields below alone.", numbers: "empty fields take the defaults" },
  ];
  return (
    <fieldset className="grid gap-2" disabled={disabled}>
      <legend className="mb-1 text-sm font-medium">Preset</legend>
      <div className="grid gap-2 sm:grid-cols-2 lg:grid-cols-3">
        {options.map((o) => {
          const id = `autoscale-preset-${o.name || "custom"}`;
          const checked = value === o.name;
          return (
            <label
              key={id}
              htmlFor={id}
              data-preset={o.name || "custom"}
              className={cn(
                "grid cursor-pointer gap-0.5 rounded-lg border p-3 text-sm transition-colors hover:bg-muted/50 has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-ring",
                checked && "border-primary bg-primary/5",
              )}
            >
              <span className="flex items-center gap-2 font-medium">
                <input
                  id={id}
                  type="radio"
                  name="autoscale-preset"
                  className="accent-primary"
                  checked={checked}
                  onChange={() => onChange(o.name)}
                  aria-label={o.label}
                  aria-describedby={`${id}-numbers`}
                />
                {o.label}
              </span>
              <span className="text-xs text-muted-foreground">{o.summary}</span>
              <span id={`${id}-numbers`} className="text-xs tabular-nums">
                {o.numbers}
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}
