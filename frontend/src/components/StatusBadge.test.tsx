import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { DeploymentStatus } from "@/gen/coderunner/v1/deployment_pb";
import { canStart, canStop, statusTone } from "@/lib/format";
import { StatusBadge } from "./StatusBadge";

describe("StatusBadge", () => {
  it("shows IDLE as asleep, in its own colour, neither stopped nor failed", () => {
    render(<StatusBadge status={DeploymentStatus.IDLE} />);
    const badge = screen.getByText("Asleep");
    expect(badge).toHaveAttribute("data-status", "asleep");
    expect(statusTone(DeploymentStatus.IDLE)).toBe("asleep");
    expect(statusTone(DeploymentStatus.IDLE)).not.toBe(statusTone(DeploymentStatus.FAILED));
    expect(statusTone(DeploymentStatus.IDLE)).not.toBe(statusTone(DeploymentStatus.STOPPED));
    expect(badge.className).toContain("violet");
  });

  it("offers Stop for an asleep deployment, not Start (a request wakes it)", () => {
    expect(canStop(DeploymentStatus.IDLE)).toBe(true);
    expect(canStart(DeploymentStatus.IDLE)).toBe(false);
  });

  it("keeps the other statuses' words", () => {
    render(<StatusBadge status={DeploymentStatus.STOPPED} />);
    expect(screen.getByText("Stopped")).toHaveAttribute("data-status", "stopped");
  });
});
