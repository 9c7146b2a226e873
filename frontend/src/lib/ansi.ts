// Parsing of ANSI SGR escape codes in log lines into styled segments. The
// result is rendered as React text nodes, so a log line can never inject
// markup; unknown escape sequences are dropped.

/** A colour: an index into the 16-colour palette or a CSS rgb() string. */
export type AnsiColor = number | string;

/** AnsiStyle is the graphic rendition in effect for a segment. */
export interface AnsiStyle {
  fg?: AnsiColor;
  bg?: AnsiColor;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
  strike?: boolean;
}

/** AnsiSegment is a run of text with one style. */
export interface AnsiSegment {
  text: string;
  style: AnsiStyle;
}

// CSI (ESC [ params intermediates final), OSC (ESC ] ... BEL | ESC \),
// nF escapes such as charset selection (ESC ( B), and two-character escapes.
// Only CSI ... m (SGR) changes the style. no-control-regex guards against
// control characters matched by mistake; here ESC, BEL and the C1 CSI
// (\u009b) are what the pattern is for.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b(?:\[([0-9;:?]*)[ -/]*([@-~])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[ -/]+[0-~]|[@-Z\\-_])|\u009b([0-9;]*)([@-~])/g;

function xterm256(n: number): AnsiColor {
  if (n < 16) return n;
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

function clamp255(v: number | undefined): number {
  return Math.max(0, Math.min(255, v ?? 0));
}

/** applySgr returns the style after the SGR parameters in params. */
export function applySgr(style: AnsiStyle, params: number[]): AnsiStyle {
  const s: AnsiStyle = { ...style };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i] ?? 0;
    if (p === 0) {
      for (const k of Object.keys(s) as (keyof AnsiStyle)[]) delete s[k];
    } else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 9) s.strike = true;
    else if (p === 22) {
      delete s.bold;
      delete s.dim;
    } else if (p === 23) delete s.italic;
    else if (p === 24) delete s.underline;
    else if (p === 27) delete s.inverse;
    else if (p === 29) delete s.strike;
    else if (p >= 30 && p <= 37) s.fg = p - 30;
    else if (p === 39) delete s.fg;
    else if (p >= 40 && p <= 47) s.bg = p - 40;
    else if (p === 49) delete s.bg;
    else if (p >= 90 && p <= 97) s.fg = p - 90 + 8;
    else if (p >= 100 && p <= 107) s.bg = p - 100 + 8;
    else if (p === 38 || p === 48) {
      const mode = params[i + 1];
      let color: AnsiColor | undefined;
      if (mode === 5) {
        color = xterm256(clamp255(params[i + 2]));
        i += 2;
      } else if (mode === 2) {
        color = `rgb(${clamp255(params[i + 2])}, ${clamp255(params[i + 3])}, ${clamp255(params[i + 4])})`;
        i += 4;
      } else {
        break; // malformed: ignore the rest of this sequence
      }
      if (p === 38) s.fg = color;
      else s.bg = color;
    }
  }
  return s;
}

/**
 * parseAnsi splits text into styled segments, starting from an empty style.
 * A carriage return keeps only what follows it, as a terminal would show
 * a progress line that rewrote itself.
 */
export function parseAnsi(input: string): AnsiSegment[] {
  let text = input;
  const cr = text.lastIndexOf("\r", text.length - 2);
  if (cr >= 0) text = text.slice(cr + 1);
  text = text.replace(/\r$/, "");

  const segments: AnsiSegment[] = [];
  let style: AnsiStyle = {};
  let last = 0;
  const push = (chunk: string) => {
    if (!chunk) return;
    const prev = segments[segments.length - 1];
    if (prev && prev.style === style) prev.text += chunk;
    else segments.push({ text: chunk, style });
  };
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(text); m; m = ESCAPE.exec(text)) {
    push(text.slice(last, m.index));
    last = ESCAPE.lastIndex;
    const params = m[1] ?? m[3];
    const final = m[2] ?? m[4];
    if (final === "m" && params !== undefined && !params.startsWith("?")) {
      const nums = params === "" ? [] : params.split(/[;:]/).map((v) => (v === "" ? 0 : Number.parseInt(v, 10)));
      style = applySgr(style, nums);
    }
  }
  push(text.slice(last));
  return segments;
}

/** stripAnsi returns the text without escape sequences (for search and copy). */
export function stripAnsi(text: string): string {
  return parseAnsi(text)
    .map((s) => s.text)
    .join("");
}
