package api_test

import (
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/testenv"
	"github.com/coderunner/coderunner/server/usage"
)

// BenchmarkAutoscaleCPU measures the requirement "a CPU-bound app under a
// load generator scales 1 → 3 within two evaluation periods after the
// target is crossed, and back to 1 after the cooldown, with no failed
// request during either". Each iteration is one cycle of TestAutoscaleCPU's
// scenario on one deployment (cpuApp at a quarter core, CPU target 50 %,
// 1–3 replicas, step 1, down cooldown 7 s). An evaluation period is the
// usage sampler's round, usage.Resolution (5 s): the controller decides
// once on each new interval. It reports medians:
//
//   - s-to-3: from the first sample over the target (the end of its
//     interval, when the controller first sees the crossing) to 3
//     replicas ready; eval-periods-to-3 is the same in evaluation periods,
//     which the requirement bounds by 2.
//   - s-load-to-3: from the load's start to 3 ready. The load starts just
//     after a sampler round, so this adds the first interval's 5 s.
//   - s-to-1 and s-to-1-after-cooldown: from the load's end to one
//     replica, and the part of it no down cooldown imposes (see
//     cpuCycle.beyondCooldown).
//   - failed-requests: requests of the load or of the light GETs kept up
//     through each cycle that were not a 200; the benchmark fails unless 0.
func BenchmarkAutoscaleCPU(b *testing.B) {
	e := newEngine(b, sqlite, testenv.Options{})
	d := e.deployCPUApp("cpu-bench")
	var toThree, loadToThree, toOne, beyond []time.Duration
	failed := 0
	b.ResetTimer()
	for range b.N {
		c := e.runCPUCycle(d)
		b.Logf("3 ready %.1fs after the first sample over the target (%.1fs after the load started); back at 1 %.1fs after the load ended, %.1fs beyond the cooldowns",
			c.toThree().Seconds(), c.atThree.Sub(c.loadStart).Seconds(), c.atOne.Sub(c.loadEnd).Seconds(), c.beyondCooldown().Seconds())
		toThree = append(toThree, c.toThree())
		loadToThree = append(loadToThree, c.atThree.Sub(c.loadStart))
		toOne = append(toOne, c.atOne.Sub(c.loadEnd))
		beyond = append(beyond, c.beyondCooldown())
		if n := len(c.load.failures) + len(c.trickle.failures); n > 0 {
			failed += n
			b.Errorf("%d requests failed (first: %v %v)\n%s", n, first(c.load.failures, 3), first(c.trickle.failures, 3), c.timeline())
		}
	}
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d requests failed", failed)
	}
	seconds := func(samples []time.Duration) float64 { return median(samples) / 1000 }
	b.ReportMetric(seconds(toThree), "s-to-3")
	b.ReportMetric(seconds(toThree)/usage.Resolution.Seconds(), "eval-periods-to-3")
	b.ReportMetric(seconds(loadToThree), "s-load-to-3")
	b.ReportMetric(seconds(toOne), "s-to-1")
	b.ReportMetric(seconds(beyond), "s-to-1-after-cooldown")
	b.ReportMetric(float64(failed), "failed-requests")
}
