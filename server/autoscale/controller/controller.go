// Package controller runs autoscaling policies: after each of the usage
// sampler's readings it decides every autoscaled deployment's replica
// count from the newest interval and asks the orchestrator to scale.
package controller

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/coderunner/coderunner/server/autoscale"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/usage"
)

// Scaler is what the controller acts on (the orchestrator).
type Scaler interface {
	Autoscaled() []orchestrator.Autoscaled
	Scale(ctx context.Context, ownerID, id string, n int, reason string) (*orchestrator.Deployment, error)
	Sleep(ctx context.Context, ownerID, id string, idleFor time.Duration) (*orchestrator.Deployment, error)
}

// Figures gives a deployment's measured usage (the sampler).
type Figures interface {
	Deployment(deploymentID string) usage.Snapshot
}

// Controller decides and applies replica counts.
type Controller struct {
	scaler  Scaler
	figures Figures
	logger  *slog.Logger
	now     func() time.Time

	mu     sync.Mutex
	memory map[string]*memory
}

// memory is what the controller remembers of one deployment: the
// cooldowns run from these. A server that restarts starts afresh, counting
// its first sight as a change so it does not scale down at once.
type memory struct {
	lastUp, lastChange time.Time
	// evaluated is the time of the newest sample decided on.
	evaluated time.Time
	// lastActive is when a request was last seen in flight or answered;
	// requests the router's count of answered ones then.
	lastActive time.Time
	requests   int64
}

// New returns a Controller over scaler and figures. Call Evaluate after
// each sampling round (usage.Sampler.AfterSample).
func New(scaler Scaler, figures Figures, logger *slog.Logger) *Controller {
	return &Controller{scaler: scaler, figures: figures, logger: logger, now: time.Now, memory: map[string]*memory{}}
}

// Evaluate decides every autoscaled deployment once on its newest sample.
func (c *Controller) Evaluate(ctx context.Context) {
	seen := map[string]bool{}
	for _, a := range c.scaler.Autoscaled() {
		seen[a.DeploymentID] = true
		c.evaluate(ctx, a)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.memory {
		if !seen[id] {
			delete(c.memory, id)
		}
	}
}

func (c *Controller) evaluate(ctx context.Context, a orchestrator.Autoscaled) {
	snap := c.figures.Deployment(a.DeploymentID)
	now := c.now()
	c.mu.Lock()
	mem := c.memory[a.DeploymentID]
	if mem == nil {
		mem = &memory{lastChange: now, lastActive: now, requests: snap.Traffic.Requests()}
		c.memory[a.DeploymentID] = mem
	}
	if n := snap.Traffic.Requests(); n != mem.requests || snap.Traffic.InFlight > 0 {
		mem.requests, mem.lastActive = n, now
	}
	idleFor := now.Sub(mem.lastActive)
	if a.Policy.MinReplicas == 0 && idleFor >= a.Policy.IdleTimeout {
		c.mu.Unlock()
		c.sleep(ctx, a, idleFor)
		return
	}
	if len(snap.History) == 0 || !snap.History[len(snap.History)-1].Time.After(mem.evaluated) {
		c.mu.Unlock()
		return
	}
	sample := snap.History[len(snap.History)-1] // the newest full interval
	mem.evaluated = sample.Time
	obs := autoscale.Observation{
		Now: now, Replicas: a.Replicas, Ready: a.Ready,
		CPUPercent: sample.CPUPercent, InFlight: sample.InFlight, RPS: sample.RequestsPerSecond,
		P95: sample.LatencyP95, Requests: sample.RequestsPerSecond > 0,
		LastUp: mem.lastUp, LastChange: mem.lastChange,
	}
	c.mu.Unlock()

	d, changed := a.Policy.Decide(obs)
	if !changed {
		return
	}
	if _, err := c.scaler.Scale(ctx, a.OwnerID, a.DeploymentID, d.Replicas, "autoscale: "+d.Reason); err != nil {
		if ctx.Err() == nil {
			c.logger.Warn("autoscale: scale", "deployment", a.DeploymentID, "replicas", d.Replicas, "error", err)
		}
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	mem.lastChange = now
	if d.Replicas > a.Replicas {
		mem.lastUp = now
	}
}

// sleep stops a's replicas after idleFor without a request (min 0).
func (c *Controller) sleep(ctx context.Context, a orchestrator.Autoscaled, idleFor time.Duration) {
	if _, err := c.scaler.Sleep(ctx, a.OwnerID, a.DeploymentID, idleFor); err != nil && ctx.Err() == nil {
		c.logger.Warn("autoscale: sleep", "deployment", a.DeploymentID, "error", err)
	}
}
