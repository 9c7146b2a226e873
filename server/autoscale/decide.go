package autoscale

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Tolerance is how far a figure may be from its target before it asks
// for a change, as a fraction of the target (Kubernetes' HPA uses 10 %).
const Tolerance = 0.1

// Observation is what one decision is made from: the sampler's newest
// interval, summed over the deployment's replicas, and the controller's
// memory of its last changes.
type Observation struct {
	Now time.Time
	// Replicas is the count asked for now; Ready the replicas measured.
	Replicas, Ready int
	// CPUPercent is of the measured replicas' summed CPU limit, so the
	// average replica's share of its own limit.
	CPUPercent float64
	InFlight   int64
	RPS        float64
	// P95 is in seconds, meaningful only when Requests is set.
	P95      float64
	Requests bool
	// LastUp is the last scale-up; LastChange the last change either way.
	LastUp, LastChange time.Time
}

// Decision is a new replica count and why, as a person reads it.
type Decision struct {
	Replicas int
	Reason   string
}

// ask is one target's wish.
type ask struct {
	replicas int
	reason   string
}

// Decide returns the replica count p asks for given o, and false when it
// is the current one. The count is the largest any target asks for
// (ceil(current × figure / target), unchanged within Tolerance), bounded
// by min and max, at most Step away, and held by the cooldowns.
func (p Policy) Decide(o Observation) (Decision, bool) {
	base := o.Ready
	if base < 1 {
		base = max(o.Replicas, 1)
	}
	asks := p.asks(o, base)
	want := ask{replicas: p.Floor(), reason: "no target asks for more"}
	for _, a := range asks {
		if a.replicas > want.replicas {
			want = a
		}
	}
	want.replicas = min(want.replicas, p.MaxReplicas)
	switch {
	case want.replicas > o.Replicas:
		if o.Replicas >= p.Floor() && o.Now.Sub(o.LastUp) < p.ScaleUpCooldown {
			return Decision{}, false
		}
		n := min(want.replicas, o.Replicas+p.Step)
		if o.Replicas < p.Floor() {
			n = max(n, p.Floor()) // back into bounds at once
		}
		return Decision{Replicas: n, Reason: want.reason}, true
	case want.replicas < o.Replicas:
		if o.Replicas <= p.MaxReplicas && (o.Ready < o.Replicas || o.Now.Sub(o.LastChange) < p.ScaleDownCooldown) {
			return Decision{}, false // new replicas still starting, or too soon
		}
		n := max(want.replicas, o.Replicas-p.Step)
		if o.Replicas > p.MaxReplicas {
			n = p.MaxReplicas
		}
		return Decision{Replicas: n, Reason: p.calm(asks, o)}, true
	}
	return Decision{}, false
}

// asks lists each target's wish from base replicas.
func (p Policy) asks(o Observation, base int) []ask {
	var out []ask
	scaled := func(figure, target float64, what string) {
		ratio := figure / target
		n := base
		if math.Abs(ratio-1) > Tolerance {
			n = int(math.Ceil(float64(base) * ratio))
		}
		cmp := "≈"
		switch {
		case figure > target:
			cmp = ">"
		case figure < target:
			cmp = "<"
		}
		out = append(out, ask{replicas: n, reason: fmt.Sprintf(what, figure, cmp, target)})
	}
	if t := p.TargetCPUPercent; t > 0 {
		scaled(o.CPUPercent, float64(t), "cpu %.0f %% of limit %s %.0f %%")
	}
	if t := p.TargetInflight; t > 0 {
		scaled(float64(o.InFlight)/float64(base), float64(t), "%.1f requests in flight per replica %s %.0f")
	}
	if t := p.TargetRPS; t > 0 {
		scaled(o.RPS/float64(base), t, "%.1f requests/s per replica %s %.1f")
	}
	if t := p.TargetP95LatencyMS; t > 0 && o.Requests {
		scaled(o.P95*1000, float64(t), "p95 %.0f ms %s %.0f ms")
	}
	return out
}

// calm explains a scale-down: every target is below its mark.
func (p Policy) calm(asks []ask, o Observation) string {
	parts := make([]string, 0, len(asks)+1)
	for _, a := range asks {
		parts = append(parts, a.reason)
	}
	if o.Replicas > p.MaxReplicas {
		return fmt.Sprintf("above max_replicas %d", p.MaxReplicas)
	}
	if len(parts) == 0 {
		parts = append(parts, "no requests to measure")
	}
	return fmt.Sprintf("%s, %s since the last change", strings.Join(parts, ", "), o.Now.Sub(o.LastChange).Round(time.Second))
}
