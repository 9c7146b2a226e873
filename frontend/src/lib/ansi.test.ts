import { describe, expect, it } from "vitest";
import { applySgr, parseAnsi, stripAnsi } from "./ansi";

describe("parseAnsi", () => {
  it("keeps plain text as one unstyled segment", () => {
    expect(parseAnsi("hello world")).toEqual([{ text: "hello world", style: {} }]);
  });

  it("splits on SGR colour codes and resets", () => {
    const segs = parseAnsi("a \u001b[31mred\u001b[0m b");
    expect(segs.map((s) => s.text)).toEqual(["a ", "red", " b"]);
    expect(segs[1]?.style).toEqual({ fg: 1 });
    expect(segs[2]?.style).toEqual({});
  });

  it("combines bold, bright colours and backgrounds", () => {
    const segs = parseAnsi("\u001b[1;92;44mok\u001b[22m plain-weight\u001b[39;49m");
    expect(segs[0]).toEqual({ text: "ok", style: { bold: true, fg: 10, bg: 4 } });
    expect(segs[1]).toEqual({ text: " plain-weight", style: { fg: 10, bg: 4 } });
  });

  it("reads 256-colour and truecolour", () => {
    expect(parseAnsi("\u001b[38;5;196mx")[0]?.style.fg).toBe("rgb(255, 0, 0)");
    expect(parseAnsi("\u001b[38;5;9mx")[0]?.style.fg).toBe(9);
    expect(parseAnsi("\u001b[48;2;1;2;3mx")[0]?.style.bg).toBe("rgb(1, 2, 3)");
    expect(parseAnsi("\u001b[38;5;240mx")[0]?.style.fg).toBe("rgb(88, 88, 88)");
  });

  it("drops cursor movement, OSC titles and unknown escapes", () => {
    expect(stripAnsi("\u001b[2K\u001b[1Gnpm \u001b]0;title\u0007ok\u001b(B")).toBe("npm ok");
  });

  it("shows what a carriage return left visible", () => {
    expect(stripAnsi("progress 10%\rprogress 100%")).toBe("progress 100%");
    expect(stripAnsi("line\r")).toBe("line");
  });

  it("treats ESC[m as a reset and ignores malformed extended colours", () => {
    expect(parseAnsi("\u001b[31mr\u001b[mx")[1]?.style).toEqual({});
    expect(applySgr({}, [38, 7])).toEqual({});
  });

  it("keeps markup-looking text as text", () => {
    const segs = parseAnsi('<img src=x onerror="alert(1)">');
    expect(segs).toEqual([{ text: '<img src=x onerror="alert(1)">', style: {} }]);
  });
});
