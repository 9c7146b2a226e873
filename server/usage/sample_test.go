package usage

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeSandbox reports whatever stats the test sets.
type fakeSandbox struct {
	stats sandbox.Stats
	gone  bool
}

func (f *fakeSandbox) Name() string                { return "fake" }
func (f *fakeSandbox) Done() <-chan struct{}       { return nil }
func (f *fakeSandbox) Status() sandbox.ExitStatus  { return sandbox.ExitStatus{} }
func (f *fakeSandbox) Signal(syscall.Signal) error { return nil }
func (f *fakeSandbox) Stop(time.Duration) error    { return nil }
func (f *fakeSandbox) DialContext(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no network")
}
func (f *fakeSandbox) Stats() (sandbox.Stats, error) {
	if f.gone {
		return sandbox.Stats{}, errors.New("cgroup removed")
	}
	return f.stats, nil
}

func TestBetweenSumsReplicasAndSurvivesRestarts(t *testing.T) {
	r0 := &fakeSandbox{stats: sandbox.Stats{CPUUsage: 10 * time.Second, MemoryBytes: 100 << 20, MemoryLimitBytes: 256 << 20}}
	r1 := &fakeSandbox{stats: sandbox.Stats{CPUUsage: 4 * time.Second, MemoryBytes: 50 << 20, MemoryLimitBytes: 256 << 20}}
	run := orchestrator.Running{DeploymentID: "d", Replicas: []sandbox.Sandbox{r0, r1}, Limits: sandbox.Limits{CPUMillicores: 500, MemoryBytes: 256 << 20}}
	t0 := time.Unix(1_000_000, 0)
	traffic := metrics.NewTraffic()
	prev := read(run, traffic.Snapshot("d"), t0)

	// Over 5 s: r0 used 2.5 s of CPU; r1 crashed and was replaced by r1b,
	// which used 0.5 s since it started (its counter began at zero).
	r0.stats.CPUUsage += 2500 * time.Millisecond
	r1b := &fakeSandbox{stats: sandbox.Stats{CPUUsage: 500 * time.Millisecond, MemoryBytes: 30 << 20, MemoryLimitBytes: 256 << 20}}
	run.Replicas = []sandbox.Sandbox{r0, r1b}
	d := traffic.For("d")
	for _, status := range []int{200, 200, 200, 500} {
		d.Begin()
		d.End(status, 20*time.Millisecond, 0, 0)
	}
	cur := read(run, traffic.Snapshot("d"), t0.Add(5*time.Second))
	s := between(prev, cur)

	if math.Abs(s.CPUCores-0.6) > 1e-9 || math.Abs(s.CPUPercent-60) > 1e-9 {
		t.Errorf("CPU %v cores, %v%%; want 0.6 cores, 60%% of the 1-core limit of two replicas", s.CPUCores, s.CPUPercent)
	}
	if s.MemoryBytes != 130<<20 || math.Abs(s.MemoryPercent-100*130.0/512) > 1e-9 {
		t.Errorf("memory %d bytes, %v%%", s.MemoryBytes, s.MemoryPercent)
	}
	if s.RequestsPerSecond != 0.8 || s.ErrorRatio != 0.25 || s.LatencyP95 <= 0.01 || s.LatencyP95 > 0.025 {
		t.Errorf("requests %v/s, error ratio %v, p95 %v", s.RequestsPerSecond, s.ErrorRatio, s.LatencyP95)
	}
	if s.Replicas != 2 {
		t.Errorf("replicas %d, want 2 (the replaced one counted once)", s.Replicas)
	}

	// A replica whose cgroup is gone is left out, limits included.
	r1b.gone = true
	if rd := read(run, metrics.TrafficSnapshot{}, t0); len(rd.replicas) != 1 || rd.cpuLimit != 0.5 || rd.memoryLimit != 256<<20 {
		t.Errorf("reading with a vanished replica: %+v", rd)
	}
	if s := between(cur, read(run, metrics.TrafficSnapshot{}, t0.Add(10*time.Second))); s.Replicas != 1 {
		t.Errorf("replicas %d with one vanished, want 1", s.Replicas)
	}
}

// fakeSource is a Source with fixed deployments.
type fakeSource struct{ running []orchestrator.Running }

func (f *fakeSource) Running() []orchestrator.Running { return f.running }
func (f *fakeSource) CountByStatus(context.Context, string) ([]orchestrator.StatusCount, error) {
	return []orchestrator.StatusCount{{Status: orchestrator.StatusRunning, Count: len(f.running)}}, nil
}

func TestSamplerKeepsFifteenMinutes(t *testing.T) {
	sb := &fakeSandbox{stats: sandbox.Stats{MemoryBytes: 1 << 20, MemoryLimitBytes: 64 << 20}}
	src := &fakeSource{running: []orchestrator.Running{{DeploymentID: "d", OwnerID: "u", Replicas: []sandbox.Sandbox{sb}, Limits: sandbox.Limits{CPUMillicores: 1000}}}}
	s := NewSampler(src, metrics.NewTraffic(), nil)
	now := time.Unix(2_000_000, 0)
	s.now = func() time.Time { return now }
	for i := range History + 20 {
		sb.stats.CPUUsage += time.Second // one core, busy
		sb.stats.MemoryBytes = int64(i+1) << 20
		s.Sample(context.Background())
		now = now.Add(Resolution)
	}
	snap := s.Deployment("d")
	if len(snap.History) != History {
		t.Fatalf("history holds %d samples, want %d", len(snap.History), History)
	}
	if first, last := snap.History[0], snap.History[History-1]; last.Time.Sub(first.Time) != time.Duration(History-1)*Resolution || last.MemoryBytes != int64(History+20)<<20 {
		t.Errorf("history from %v to %v, last memory %d", first.Time, last.Time, last.MemoryBytes)
	}
	if c := snap.History[History-1].CPUCores; math.Abs(c-0.2) > 1e-9 {
		t.Errorf("CPU %v cores, want 0.2 (1 s per 5 s)", c)
	}
	if u := s.UsageOf("u"); u.CPULimitCores != 1 || u.MemoryLimitBytes != 64<<20 || u.MemoryBytes != int64(History+20)<<20 {
		t.Errorf("usage %+v", u)
	}
	if u := s.UsageOf("someone else"); u != (Usage{}) {
		t.Errorf("another owner's usage %+v, want none", u)
	}

	// A deployment that no longer runs here leaves the sampler.
	src.running = nil
	s.Sample(context.Background())
	if snap := s.Deployment("d"); len(snap.History) != 0 {
		t.Errorf("history of a gone deployment has %d samples", len(snap.History))
	}
}

// TestSamplerCountsReplicas: each history sample holds the replicas
// measured, and /metrics has them and the count asked for, per deployment.
func TestSamplerCountsReplicas(t *testing.T) {
	r0 := &fakeSandbox{stats: sandbox.Stats{MemoryBytes: 1 << 20, MemoryLimitBytes: 64 << 20}}
	r1 := &fakeSandbox{stats: sandbox.Stats{MemoryBytes: 1 << 20, MemoryLimitBytes: 64 << 20}}
	src := &fakeSource{running: []orchestrator.Running{
		{DeploymentID: "two", Replicas: []sandbox.Sandbox{r0, r1}, Desired: 2},
		{DeploymentID: "stopped"},
	}}
	s := NewSampler(src, metrics.NewTraffic(), nil)
	now := time.Unix(3_000_000, 0)
	s.now = func() time.Time { return now }
	round := func() {
		s.Sample(context.Background())
		now = now.Add(Resolution)
	}
	round()
	round()
	if h := s.Deployment("two").History; len(h) != 1 || h[0].Replicas != 2 {
		t.Fatalf("history %+v, want one sample of 2 replicas", h)
	}
	const head = `# HELP coderunner_deployment_desired_replicas Replicas a running deployment is asked to run, by its owner or its autoscale policy; 0 when it is not running.
# TYPE coderunner_deployment_desired_replicas gauge
# HELP coderunner_deployment_replicas Replicas of a deployment running now (those whose sandbox was measured in the last reading).
# TYPE coderunner_deployment_replicas gauge
`
	want := head + `coderunner_deployment_desired_replicas{deployment_id="stopped"} 0
coderunner_deployment_desired_replicas{deployment_id="two"} 2
coderunner_deployment_replicas{deployment_id="stopped"} 0
coderunner_deployment_replicas{deployment_id="two"} 2
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), "coderunner_deployment_replicas", "coderunner_deployment_desired_replicas"); err != nil {
		t.Error(err)
	}

	// A replica that crashed and is not yet replaced: one measured, two
	// still asked for.
	r1.gone = true
	round()
	if h := s.Deployment("two").History; h[len(h)-1].Replicas != 1 {
		t.Errorf("latest sample has %d replicas, want 1", h[len(h)-1].Replicas)
	}
	want = head + `coderunner_deployment_desired_replicas{deployment_id="stopped"} 0
coderunner_deployment_desired_replicas{deployment_id="two"} 2
coderunner_deployment_replicas{deployment_id="stopped"} 0
coderunner_deployment_replicas{deployment_id="two"} 1
`
	if err := testutil.CollectAndCompare(s, strings.NewReader(want), "coderunner_deployment_replicas", "coderunner_deployment_desired_replicas"); err != nil {
		t.Error(err)
	}
}
