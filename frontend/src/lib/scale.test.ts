import { describe, expect, it } from "vitest";
import { parseScale, scaleText } from "@/lib/scale";

describe("scaleText", () => {
  it("shows a deployment's values, empty for the defaults", () => {
    expect(scaleText(2, 500, 256n << 20n)).toEqual({ replicas: "2", cpuCores: "0.5", memoryMib: "256" });
    expect(scaleText(0, 0, 0n)).toEqual({ replicas: "1", cpuCores: "", memoryMib: "" });
    expect(scaleText(1, undefined, undefined)).toEqual({ replicas: "1", cpuCores: "", memoryMib: "" });
  });
});

describe("parseScale", () => {
  it("turns the fields into UpdateDeployment's values", () => {
    expect(parseScale({ replicas: "3", cpuCores: "1.5", memoryMib: "512" })).toEqual({
      values: { replicas: 3, cpuMillicores: 1500, memoryBytes: 512n << 20n },
    });
    expect(parseScale({ replicas: " 1 ", cpuCores: "", memoryMib: "" })).toEqual({
      values: { replicas: 1, cpuMillicores: 0, memoryBytes: 0n },
    });
    expect(parseScale({ replicas: "10", cpuCores: ".25", memoryMib: "8192" })).toEqual({
      values: { replicas: 10, cpuMillicores: 250, memoryBytes: 8192n << 20n },
    });
  });

  it("names each field that is out of range or not a number", () => {
    for (const replicas of ["0", "11", "1.5", "-1", "two", ""]) {
      const r = parseScale({ replicas, cpuCores: "", memoryMib: "" });
      expect("errors" in r && Object.keys(r.errors)).toEqual(["replicas"]);
    }
    for (const cpuCores of ["0", "4.5", "-1", "1e3", "half", "0.0001"]) {
      const r = parseScale({ replicas: "1", cpuCores, memoryMib: "" });
      expect("errors" in r && Object.keys(r.errors)).toEqual(["cpuCores"]);
    }
    for (const memoryMib of ["0", "8193", "1.5", "-1", "lots"]) {
      const r = parseScale({ replicas: "1", cpuCores: "", memoryMib });
      expect("errors" in r && Object.keys(r.errors)).toEqual(["memoryMib"]);
    }
    const all = parseScale({ replicas: "0", cpuCores: "9", memoryMib: "x" });
    expect("errors" in all && Object.keys(all.errors).sort()).toEqual(["cpuCores", "memoryMib", "replicas"]);
  });
});
