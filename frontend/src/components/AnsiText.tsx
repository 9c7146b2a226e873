import type * as React from "react";
import { memo } from "react";
import { type AnsiColor, type AnsiStyle, parseAnsi } from "@/lib/ansi";

function colorProps(c: AnsiColor | undefined, kind: "fg" | "bg"): { className?: string; css?: string } {
  if (c === undefined) return {};
  if (typeof c === "number") return { className: `ansi-${kind}-${c}` };
  return { css: c };
}

function styleOf(s: AnsiStyle): { className: string; style: React.CSSProperties | undefined } {
  const fg = colorProps(s.inverse ? s.bg : s.fg, "fg");
  const bg = colorProps(s.inverse ? (s.fg ?? 7) : s.bg, "bg");
  const classes = [fg.className, bg.className];
  if (s.bold) classes.push("font-bold");
  if (s.dim) classes.push("opacity-70");
  if (s.italic) classes.push("italic");
  if (s.underline) classes.push("underline");
  if (s.strike) classes.push("line-through");
  const style: React.CSSProperties = {};
  if (fg.css) style.color = fg.css;
  if (bg.css) style.backgroundColor = bg.css;
  return { className: classes.filter(Boolean).join(" "), style: fg.css || bg.css ? style : undefined };
}

function highlight(text: string, query: string, keyPrefix: string): React.ReactNode {
  if (!query) return text;
  const lower = text.toLowerCase();
  const q = query.toLowerCase();
  const parts: React.ReactNode[] = [];
  let from = 0;
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) {
    if (i > from) parts.push(text.slice(from, i));
    parts.push(
      <mark key={`${keyPrefix}-${i}`} className="rounded-sm bg-yellow-300 text-black">
        {text.slice(i, i + q.length)}
      </mark>,
    );
    from = i + q.length;
  }
  if (parts.length === 0) return text;
  if (from < text.length) parts.push(text.slice(from));
  return parts;
}

/**
 * AnsiText renders a log line with its ANSI colours as spans. Text goes in
 * as React children, never as HTML, so a line cannot inject markup.
 */
export const AnsiText = memo(function AnsiText({ text, query = "" }: { text: string; query?: string }) {
  const segments = parseAnsi(text);
  return (
    <>
      {segments.map((seg, i) => {
        const { className, style } = styleOf(seg.style);
        if (!className && !style) return <span key={i}>{highlight(seg.text, query, String(i))}</span>;
        return (
          <span key={i} className={className} style={style}>
            {highlight(seg.text, query, String(i))}
          </span>
        );
      })}
    </>
  );
});
