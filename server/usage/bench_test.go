package usage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkCollect200Deployments runs 200 real sandboxes (bubblewrap and
// cgroups, each a sleeping process) and measures what one sampling round
// over all of them costs in CPU time, reported as the share of one core
// the sampler uses at its 5 s resolution (the target is under 5%). Also
// reported: one /metrics gather of their series.
func BenchmarkCollect200Deployments(b *testing.B) {
	const n = 200
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	driver, err := sandbox.NewLocal(sandbox.LocalOptions{CgroupRoot: "coderunner-bench-" + hex.EncodeToString(suffix), Logger: logger})
	if err != nil {
		b.Skipf("no sandbox driver: %v", err)
	}
	ctx := context.Background()
	if err := driver.Check(ctx); err != nil {
		b.Skipf("sandboxes cannot run here: %v", err)
	}
	limits := sandbox.Limits{MemoryBytes: 64 << 20, CPUMillicores: 100, Pids: 16}
	src := &fakeSource{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			sb, err := driver.Start(ctx, sandbox.Spec{
				Name: fmt.Sprintf("bench-%03d-r0", i), WorkDir: "/", Command: []string{"sleep", "3600"},
				Env: []string{"PATH=/usr/bin:/bin"}, Limits: limits, Stdout: io.Discard, Stderr: io.Discard,
			})
			if err != nil {
				b.Errorf("start sandbox %d: %v", i, err)
				return
			}
			mu.Lock()
			src.running = append(src.running, orchestrator.Running{
				DeploymentID: fmt.Sprintf("00000000-0000-7000-8000-%012d", i), OwnerID: "bench",
				Replicas: []sandbox.Sandbox{sb}, Limits: limits, Since: time.Now(),
			})
			mu.Unlock()
		})
	}
	wg.Wait()
	b.Cleanup(func() {
		for _, r := range src.running {
			_ = r.Replicas[0].Stop(0)
		}
	})
	if b.Failed() {
		return
	}
	traffic := metrics.NewTraffic()
	for _, r := range src.running {
		d := traffic.For(r.DeploymentID)
		d.Begin()
		d.End(200, time.Millisecond, 10, 10)
	}
	s := NewSampler(src, traffic, logger)
	reg := prometheus.NewRegistry()
	reg.MustRegister(s, traffic)
	s.Sample(ctx)

	var sampling, gathering time.Duration
	for b.Loop() {
		before := cpuTime()
		s.Sample(ctx)
		mid := cpuTime()
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
		sampling += mid - before
		gathering += cpuTime() - mid
	}
	rounds := float64(b.N)
	b.ReportMetric(float64(sampling.Microseconds())/rounds/1000, "cpu-ms/round")
	b.ReportMetric(100*sampling.Seconds()/rounds/Resolution.Seconds(), "%core")
	b.ReportMetric(float64(gathering.Microseconds())/rounds/1000, "cpu-ms/scrape")
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
