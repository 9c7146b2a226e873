import { act, renderHook } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { useDraft } from "@/lib/draft";

interface Value {
  n: number;
  note: string;
}
const same = (a: Value, b: Value) => a.n === b.n;

function setup(initial: Value) {
  return renderHook(({ server }) => useDraft(server, same), { initialProps: { server: initial } });
}

describe("useDraft", () => {
  it("starts as the server value", () => {
    const { result } = setup({ n: 1, note: "a" });
    expect(result.current[0]).toEqual({ n: 1, note: "a" });
  });

  it("follows a change from elsewhere while not edited", () => {
    const { result, rerender } = setup({ n: 1, note: "a" });
    rerender({ server: { n: 2, note: "b" } });
    expect(result.current[0]).toEqual({ n: 2, note: "b" });
  });

  it("keeps an edit when the server changes", () => {
    const { result, rerender } = setup({ n: 1, note: "a" });
    act(() => result.current[1]({ n: 5, note: "edited" }));
    rerender({ server: { n: 2, note: "b" } });
    expect(result.current[0]).toEqual({ n: 5, note: "edited" });
  });

  it("takes the server's form of a value equal to the draft (a save)", () => {
    const { result, rerender } = setup({ n: 1, note: "a" });
    act(() => result.current[1]({ n: 2, note: "typed" }));
    rerender({ server: { n: 2, note: "saved" } });
    expect(result.current[0]).toEqual({ n: 2, note: "saved" });
  });

  it("ignores a new server object with the same value", () => {
    const { result, rerender } = setup({ n: 1, note: "a" });
    act(() => result.current[1]({ n: 1, note: "same n" }));
    rerender({ server: { n: 1, note: "other" } });
    expect(result.current[0]).toEqual({ n: 1, note: "same n" });
  });
});
