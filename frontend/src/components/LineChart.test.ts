import { describe, expect, it } from "vitest";
import { chartPath, markerX } from "./LineChart";

describe("chartPath", () => {
  it("spans the width and scales to max", () => {
    const { line, area } = chartPath(
      [
        { t: 0, v: 0 },
        { t: 5, v: 50 },
        { t: 10, v: 100 },
      ],
      100,
    );
    expect(line).toBe("M0.0,96.0 L160.0,50.0 L320.0,4.0");
    expect(area.endsWith("L320,96 L0,96 Z")).toBe(true);
  });

  it("draws one sample as a level line and clamps values above max", () => {
    expect(chartPath([{ t: 1, v: 200 }], 100).line).toBe("M0,4.0 L320.0,4.0");
  });

  it("draws nothing without samples", () => {
    expect(chartPath([], 1)).toEqual({ line: "", area: "" });
  });
});

describe("markerX", () => {
  const points = [
    { t: 1000, v: 1 },
    { t: 2000, v: 2 },
  ];
  it("places a moment within the span and skips one outside it", () => {
    expect(markerX(points, 1500)).toBe(160);
    expect(markerX(points, 500)).toBeUndefined();
    expect(markerX([], 1500)).toBeUndefined();
  });
});
