package usage

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
)

// Resolution is the time between the sampler's readings; History of them
// cover the last 15 minutes.
const (
	Resolution = 5 * time.Second
	History    = int(15 * time.Minute / Resolution)
)

// Source lists the deployments this server runs (the orchestrator).
type Source interface {
	Running() []orchestrator.Running
	CountByStatus(ctx context.Context, ownerID string) ([]orchestrator.StatusCount, error)
}

// Sampler reads every deployment's usage each Resolution and keeps the
// history. Reading costs a few small cgroup file reads per replica, done on
// the sampler's own goroutine; the request path only bumps counters.
type Sampler struct {
	source  Source
	traffic *metrics.Traffic
	logger  *slog.Logger
	now     func() time.Time

	// after runs after each round Run takes (see AfterSample).
	after []func(context.Context)

	mu       sync.Mutex
	series   map[string]*series
	byStatus []orchestrator.StatusCount // this server's deployments
}

// series is one deployment's state in the sampler.
type series struct {
	info    orchestrator.Running
	last    reading
	history []Sample // oldest first, at most History
}

// NewSampler returns a Sampler over source and traffic. Call Run.
func NewSampler(source Source, traffic *metrics.Traffic, logger *slog.Logger) *Sampler {
	return &Sampler{source: source, traffic: traffic, logger: logger, now: time.Now, series: map[string]*series{}}
}

// AfterSample has Run call f after each round, on its goroutine: the
// autoscale controller decides on each new interval as soon as it is
// measured. Call before Run.
func (s *Sampler) AfterSample(f func(context.Context)) { s.after = append(s.after, f) }

// Run samples every Resolution until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	tick := time.NewTicker(Resolution)
	defer tick.Stop()
	for {
		s.Sample(ctx)
		for _, f := range s.after {
			f(ctx)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Sample takes one round of readings: every deployment's, and the counts
// by status.
func (s *Sampler) Sample(ctx context.Context) {
	running := s.source.Running()
	now := s.now()
	readings := make([]reading, len(running))
	for i, r := range running {
		readings[i] = read(r, s.traffic.Snapshot(r.DeploymentID), now)
	}
	countCtx, cancel := context.WithTimeout(ctx, Resolution)
	counts, err := s.source.CountByStatus(countCtx, "")
	cancel()
	if err != nil && ctx.Err() == nil {
		s.logger.Warn("metrics: count deployments by status", "error", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil {
		s.byStatus = counts
	}
	seen := make(map[string]bool, len(running))
	for i, r := range running {
		id := r.DeploymentID
		seen[id] = true
		ser := s.series[id]
		if ser == nil {
			s.series[id] = &series{info: r, last: readings[i]}
			continue
		}
		ser.history = append(ser.history, between(ser.last, readings[i]))
		if len(ser.history) > History {
			ser.history = append(ser.history[:0], ser.history[len(ser.history)-History:]...)
		}
		ser.info, ser.last = r, readings[i]
	}
	for id := range s.series {
		if !seen[id] {
			delete(s.series, id)
		}
	}
}

// Snapshot is what the sampler knows of one deployment.
type Snapshot struct {
	Current          Sample
	History          []Sample
	CPULimitCores    float64
	MemoryLimitBytes int64
	Restarts         int64
	OOMKills         int64
	// Since is when the current run became ready; zero when not running.
	Since   time.Time
	Traffic metrics.TrafficSnapshot
}

// Deployment returns what is known of deploymentID. Current is measured
// from the sampler's last reading to now; in the first second after that
// reading it is the newest history sample, and before the sampler has
// seen the deployment at all it holds what a single reading gives (memory,
// limits, in-flight requests; no rates). A deployment this server does not
// run has only its traffic.
func (s *Sampler) Deployment(deploymentID string) Snapshot {
	run := s.fresh(deploymentID)
	var snap Snapshot
	snap.Traffic = s.traffic.Snapshot(deploymentID)
	cur := read(run, snap.Traffic, s.now())

	s.mu.Lock()
	ser := s.series[deploymentID]
	var last reading
	if ser != nil {
		snap.History = append([]Sample(nil), ser.history...)
		last = ser.last
	}
	s.mu.Unlock()

	switch n := len(snap.History); {
	case ser != nil && cur.at.Sub(last.at) >= time.Second:
		snap.Current = between(last, cur)
	case n > 0:
		snap.Current = snap.History[n-1]
	default:
		snap.Current = between(cur, cur)
	}
	snap.CPULimitCores, snap.MemoryLimitBytes = cur.cpuLimit, cur.memoryLimit
	snap.Restarts, snap.OOMKills, snap.Since = run.Restarts, run.OOMKills, run.Since
	return snap
}

// fresh returns the current Running of deploymentID (replicas may have
// been replaced since the last round); one without replicas when this
// server does not run it.
func (s *Sampler) fresh(deploymentID string) orchestrator.Running {
	for _, r := range s.source.Running() {
		if r.DeploymentID == deploymentID {
			return r
		}
	}
	return orchestrator.Running{DeploymentID: deploymentID}
}

// Meter measures one deployment at the caller's pace: each Next returns the
// sample for the time since the previous call.
type Meter struct {
	sampler *Sampler
	id      string
	last    reading
}

// Meter starts measuring deploymentID now.
func (s *Sampler) Meter(deploymentID string) *Meter {
	m := &Meter{sampler: s, id: deploymentID}
	m.last = m.read()
	return m
}

func (m *Meter) read() reading {
	s := m.sampler
	return read(s.fresh(m.id), s.traffic.Snapshot(m.id), s.now())
}

// Next returns the sample since the previous call (or since Meter).
func (m *Meter) Next() Sample {
	cur := m.read()
	sample := between(m.last, cur)
	m.last = cur
	return sample
}

// Usage is what a set of deployments use right now, per the latest
// samples.
type Usage struct {
	CPUCores, CPULimitCores       float64
	MemoryBytes, MemoryLimitBytes int64
}

// UsageOf sums what ownerID's deployments that run now use: memory and
// limits read now, CPU from each one's newest sample (none yet in the
// first 5 s of a run).
func (s *Sampler) UsageOf(ownerID string) Usage {
	var u Usage
	now := s.now()
	for _, r := range s.source.Running() {
		if r.OwnerID != ownerID || r.Replicas == nil {
			continue
		}
		rd := read(r, metrics.TrafficSnapshot{}, now)
		u.CPULimitCores += rd.cpuLimit
		u.MemoryBytes += rd.memory()
		u.MemoryLimitBytes += rd.memoryLimit
		s.mu.Lock()
		if ser := s.series[r.DeploymentID]; ser != nil && len(ser.history) > 0 {
			u.CPUCores += ser.history[len(ser.history)-1].CPUCores
		}
		s.mu.Unlock()
	}
	return u
}

// Requests is how many requests deployment id has answered since this
// server started.
func (s *Sampler) Requests(id string) int64 {
	return s.traffic.Snapshot(id).Requests()
}
