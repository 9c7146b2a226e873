package api_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// cpuApp answers /spin?ms=N after using N ms of CPU time in a busy loop,
// measured with process.cpuUsage, so a throttled replica takes longer for
// the same work, as a CPU-bound app does; any other path answers at once.
const cpuApp = `const http = require("http");
http.createServer((req, res) => {
  const ms = Number(new URL(req.url, "http://x").searchParams.get("ms") || 0);
  const start = process.cpuUsage();
  let x = 0;
  while (ms > 0) {
    for (let i = 0; i < 10000; i++) x += Math.sqrt(i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) break;
  }
  res.end("spun " + ms + " ms in " + process.pid + (x < 0 ? "!" : "") + "\n");
}).listen(process.env.PORT, process.env.HOST);`

// The CPU autoscaling scenario. Sandboxes get 1000 millicores by default
// (--sandbox-cpu); the app asks for a quarter core, so three replicas at
// their limit use 0.75 of the machine's two cores and 50 % of the limit is
// a clear 0.125 cores each. The down cooldown is longer than an
// evaluation period (5 s), so a calm sample inside it is seen and held.
const (
	cpuLimitMillicores = 250
	cpuTargetPercent   = 50
	cpuUpCooldown      = time.Second
	cpuDownCooldown    = 7 * time.Second
	// Six clients back to back keep every replica of three busy (the
	// router takes turns); each request is 20 ms of CPU, 80 ms at the limit.
	cpuSpinPath    = "/spin?ms=20"
	cpuSpinClients = 6
)

// deployCPUApp runs cpuApp as name at a quarter core under the CPU
// policy (1–3 replicas, 50 % of the limit, the default step of 1) and
// waits until it runs and has been sampled once.
func (e *engine) deployCPUApp(name string) *coderunnerv1.Deployment {
	e.t.Helper()
	one := int32(1)
	d := e.create(&coderunnerv1.CreateDeploymentRequest{
		Name:   name,
		Files:  []*coderunnerv1.SourceFile{{Path: "package.json", Content: []byte(`{"name":"spinner"}`)}, {Path: "server.js", Content: []byte(cpuApp)}},
		Limits: &coderunnerv1.ResourceLimits{CpuMillicores: cpuLimitMillicores},
		Autoscale: &coderunnerv1.AutoscalePolicy{MinReplicas: &one, MaxReplicas: 3, TargetCpuPercent: cpuTargetPercent,
			ScaleUpCooldown: durationpb.New(cpuUpCooldown), ScaleDownCooldown: durationpb.New(cpuDownCooldown)},
	})
	d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	if d.GetLimits().GetCpuMillicores() != cpuLimitMillicores || d.GetAutoscale().GetTargetCpuPercent() != cpuTargetPercent || d.GetReplicas() != 1 {
		e.t.Fatalf("deployed with limits %v, policy %v, %d replicas", d.GetLimits(), d.GetAutoscale(), d.GetReplicas())
	}
	// The sampler's first sight of a deployment is a reading, not yet an
	// interval: wait for the first sample, so that the load is measured
	// from its first round.
	waitUntil(e.t, 20*time.Second, "a usage sample of "+name, func() bool { return len(e.samples(d.GetId())) > 0 })
	return d
}

// samples returns deployment id's usage history, oldest first.
func (e *engine) samples(id string) []*coderunnerv1.MetricsSample {
	e.t.Helper()
	res, err := e.metricsClient().GetDeploymentMetrics(context.Background(), withToken(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: id}, e.token))
	if err != nil {
		e.t.Fatalf("GetDeploymentMetrics: %v", err)
	}
	return res.Msg.GetMetrics().GetHistory()
}

// trafficResult is what a keepRequesting saw: the 200s, and each other
// answer or error as "after 1.2s: 502 Bad Gateway".
type trafficResult struct {
	ok       int64
	failures []string
}

// keepRequesting has clients GET path on d, each waiting pause between
// its requests (0: back to back), until the returned stop, which waits for
// the requests under way and returns what they saw. It stops by itself
// when the test ends.
func (e *engine) keepRequesting(d *coderunnerv1.Deployment, path string, clients int, pause time.Duration) (stop func() trafficResult) {
	target := e.appURL(d, path)
	start := time.Now()
	var done atomic.Bool
	var ok atomic.Int64
	var mu sync.Mutex
	var failures []string
	var wg sync.WaitGroup
	for range clients {
		client := e.appClient()
		wg.Go(func() {
			for !done.Load() {
				what := ""
				if res, err := client.Get(target); err != nil {
					what = err.Error()
				} else {
					_, _ = io.Copy(io.Discard, res.Body)
					_ = res.Body.Close()
					if res.StatusCode != 200 {
						what = res.Status
					}
				}
				if what == "" {
					ok.Add(1)
				} else {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("after %s: %s", time.Since(start).Round(time.Millisecond), what))
					mu.Unlock()
				}
				time.Sleep(pause)
			}
		})
	}
	stop = func() trafficResult {
		done.Store(true)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return trafficResult{ok: ok.Load(), failures: append([]string(nil), failures...)}
	}
	e.t.Cleanup(func() { stop() })
	return stop
}

// scaleEvent is one "scaled a → b" event of a deployment.
type scaleEvent struct {
	at     time.Time
	reason string
}

// scaleEventsSince lists deployment id's scaled events after since,
// oldest first.
func (e *engine) scaleEventsSince(id string, since time.Time) []scaleEvent {
	e.t.Helper()
	res, err := e.client.ListDeploymentEvents(context.Background(), withToken(&coderunnerv1.ListDeploymentEventsRequest{DeploymentId: id, PageSize: 200}, e.token))
	if err != nil {
		e.t.Fatalf("ListDeploymentEvents: %v", err)
	}
	var out []scaleEvent
	list := res.Msg.GetEvents()
	for i := len(list) - 1; i >= 0; i-- {
		ev := list[i]
		if at := ev.GetTime().AsTime(); at.After(since) && strings.HasPrefix(ev.GetReason(), "scaled ") {
			out = append(out, scaleEvent{at: at, reason: ev.GetReason()})
		}
	}
	return out
}

// cpuCycle is one round of the CPU scenario as measured.
type cpuCycle struct {
	// loadStart and loadEnd bound the CPU load; crossed is the time of the
	// first sample over the target after loadStart (the end of its 5 s
	// interval: when the controller first sees it); atThree and atOne are
	// when the count was first seen at 3 and then back at 1, ready.
	loadStart, crossed, atThree, loadEnd, atOne time.Time
	// up and down are the scaled events before and after loadEnd.
	up, down []scaleEvent
	// samples are the usage samples of the cycle; peak the highest CPU
	// percent sampled with one replica under load.
	samples []*coderunnerv1.MetricsSample
	peak    float64
	// load is the CPU load's requests; trickle those of a light GET of /
	// every 100 ms through the whole cycle, scale-down included.
	load, trickle trafficResult
}

// runCPUCycle puts d (deployCPUApp, at one replica and calm) under CPU
// load until it has 3 replicas ready, stops the load and waits until it
// is back at 1.
func (e *engine) runCPUCycle(d *coderunnerv1.Deployment) cpuCycle {
	e.t.Helper()
	var c cpuCycle
	trickle := e.keepRequesting(d, "/", 1, 100*time.Millisecond)
	c.loadStart = time.Now()
	load := e.keepRequesting(d, cpuSpinPath, cpuSpinClients, 0)
	e.waitReady(d.GetId(), 3)
	c.atThree = time.Now()
	c.load = load()
	c.loadEnd = time.Now()
	e.waitReady(d.GetId(), 1)
	c.atOne = time.Now()
	c.trickle = trickle()

	for _, ev := range e.scaleEventsSince(d.GetId(), c.loadStart) {
		if ev.at.Before(c.loadEnd) {
			c.up = append(c.up, ev)
		} else {
			c.down = append(c.down, ev)
		}
	}
	history := e.samples(d.GetId())
	for _, s := range history {
		at := s.GetTime().AsTime()
		if at.Before(c.loadStart) || at.After(c.atOne) {
			continue
		}
		c.samples = append(c.samples, s)
		if c.crossed.IsZero() && at.Before(c.loadEnd) && s.GetCpuPercent() > cpuTargetPercent {
			c.crossed = at
		}
		if s.GetReplicas() == 1 && at.Before(c.loadEnd) {
			c.peak = max(c.peak, s.GetCpuPercent())
		}
	}
	if c.crossed.IsZero() {
		e.t.Fatalf("no sample over %d %% between the load's start and end: %v", cpuTargetPercent, history)
	}
	return c
}

// timeline lists the cycle's samples and scaled events, in seconds from
// the load's start, for a failure's message.
func (c cpuCycle) timeline() string {
	var b strings.Builder
	fmt.Fprintf(&b, "load %.1fs–%.1fs, 3 ready at %.1fs, 1 at %.1fs", 0.0, c.loadEnd.Sub(c.loadStart).Seconds(), c.atThree.Sub(c.loadStart).Seconds(), c.atOne.Sub(c.loadStart).Seconds())
	for _, s := range c.samples {
		fmt.Fprintf(&b, "\n  %+6.1fs sample: cpu %.0f %% of the limit, %d replicas, %.1f requests/s", s.GetTime().AsTime().Sub(c.loadStart).Seconds(), s.GetCpuPercent(), s.GetReplicas(), s.GetRequestsPerSecond())
	}
	for _, ev := range append(append([]scaleEvent(nil), c.up...), c.down...) {
		fmt.Fprintf(&b, "\n  %+6.1fs %s", ev.at.Sub(c.loadStart).Seconds(), ev.reason)
	}
	return b.String()
}

// toThree is from the first sample over the target to 3 replicas ready.
func (c cpuCycle) toThree() time.Duration { return c.atThree.Sub(c.crossed) }

// beyondCooldown is the part of the time from the load's end to one
// replica that no cooldown imposes: each scale-down may come no sooner
// than the down cooldown after the change before it (and not before the
// load ends); what it waits past that (for a sampler round) plus the
// time the last takes to show, is counted.
func (c cpuCycle) beyondCooldown() time.Duration {
	if len(c.up) == 0 || len(c.down) == 0 {
		return c.atOne.Sub(c.loadEnd)
	}
	var beyond time.Duration
	prev := c.up[len(c.up)-1].at
	for i, ev := range c.down {
		allowed := prev.Add(cpuDownCooldown)
		if i == 0 && allowed.Before(c.loadEnd) {
			allowed = c.loadEnd
		}
		beyond += ev.at.Sub(allowed)
		prev = ev.at
	}
	return beyond + c.atOne.Sub(prev)
}

// TestAutoscaleCPU: a CPU-bound app at a quarter core under a policy on
// CPU alone (50 % of the limit, 1–3, step 1) measures about 100 % of its
// limit under load and scales 1 → 2 → 3, one step per evaluation,
// each event naming the CPU figure; when the load ends it
// comes back to 1, each step no sooner than the down cooldown after the
// change before it. No request fails under load or while replicas drain.
func TestAutoscaleCPU(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.deployCPUApp("cpu-bound")
	c := e.runCPUCycle(d)
	defer func() {
		if t.Failed() {
			t.Log(c.timeline())
		}
	}()
	t.Logf("3 ready %.1fs after the load started, %.1fs after the first sample over the target; back at 1 %.1fs after the load ended (%.1fs beyond the cooldowns); %d requests under load, %d light ones",
		c.atThree.Sub(c.loadStart).Seconds(), c.toThree().Seconds(), c.atOne.Sub(c.loadEnd).Seconds(), c.beyondCooldown().Seconds(), c.load.ok, c.trickle.ok)

	// The percent is of the replica's own limit: one replica spinning at
	// a quarter core reads about 100 %, not 25 % (of a core).
	if c.peak < 75 || c.peak > 125 {
		t.Errorf("one replica under CPU load peaked at %.0f %% of its limit, want about 100", c.peak)
	}
	var steps []string
	for _, ev := range c.up {
		step, _, _ := strings.Cut(ev.reason, ":")
		steps = append(steps, step)
		if !strings.Contains(ev.reason, ": autoscale: cpu ") || !strings.Contains(ev.reason, "% of limit > 50 %") {
			t.Errorf("scale-up event %q does not name the CPU figure", ev.reason)
		}
	}
	if got := strings.Join(steps, ", "); got != "scaled 1 → 2, scaled 2 → 3" {
		t.Fatalf("scale-ups %q, want 1 → 2 → 3", got)
	}

	steps = nil
	prev := c.up[len(c.up)-1]
	for _, ev := range c.down {
		step, _, _ := strings.Cut(ev.reason, ":")
		steps = append(steps, step)
		if !strings.Contains(ev.reason, ": autoscale: cpu ") || !strings.Contains(ev.reason, "% of limit < 50 %") || !strings.Contains(ev.reason, "since the last change") {
			t.Errorf("scale-down event %q does not name the CPU figure and the wait", ev.reason)
		}
		// Event times are taken just after the controller's clock: allow
		// a little either way.
		if gap := ev.at.Sub(prev.at); gap < cpuDownCooldown-250*time.Millisecond {
			t.Errorf("%q came %s after %q, inside the %s cooldown", ev.reason, gap.Round(time.Millisecond), prev.reason, cpuDownCooldown)
		}
		prev = ev
	}
	if got := strings.Join(steps, ", "); got != "scaled 3 → 2, scaled 2 → 1" {
		t.Errorf("scale-downs %q, want 3 → 2 → 1", got)
	}

	if len(c.load.failures) > 0 || c.load.ok == 0 {
		t.Errorf("under CPU load: %d answered 200, %d did not (first: %v)", c.load.ok, len(c.load.failures), first(c.load.failures, 5))
	}
	if len(c.trickle.failures) > 0 || c.trickle.ok == 0 {
		t.Errorf("light requests through the cycle: %d answered 200, %d did not (first: %v)", c.trickle.ok, len(c.trickle.failures), first(c.trickle.failures, 5))
	}
}

// first returns list's first n elements (all when fewer).
func first(list []string, n int) []string { return list[:min(n, len(list))] }
