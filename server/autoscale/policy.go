// Package autoscale holds what an autoscaling policy is and how it
// decides a deployment's replica count from the figures the usage sampler
// measures. It is pure: the controller package runs it against the
// orchestrator every sampling period.
package autoscale

import (
	"fmt"
	"time"

	"github.com/coderunner/coderunner/server/errs"
)

// Policy is a deployment's autoscaling policy as stored (JSON in the
// deployments table). A zero target is not a target; at least one is set.
type Policy struct {
	// Template names the preset the policy started from ("" for none).
	Template    string `json:"template,omitempty"`
	MinReplicas int    `json:"min_replicas"`
	MaxReplicas int    `json:"max_replicas"`
	// TargetCPUPercent is of each replica's CPU limit, 1–100.
	TargetCPUPercent int `json:"target_cpu_percent,omitempty"`
	// TargetInflight is requests in flight per replica.
	TargetInflight int `json:"target_inflight,omitempty"`
	// TargetRPS is requests per second per replica.
	TargetRPS float64 `json:"target_rps,omitempty"`
	// TargetP95LatencyMS is the p95 response time the router measures.
	TargetP95LatencyMS int `json:"target_p95_latency_ms,omitempty"`
	// ScaleUpCooldown is the least time between two scale-ups;
	// ScaleDownCooldown the least time from any change to a scale-down.
	ScaleUpCooldown   time.Duration `json:"scale_up_cooldown"`
	ScaleDownCooldown time.Duration `json:"scale_down_cooldown"`
	// Step is the most replicas one decision adds or removes.
	Step int `json:"step"`
	// IdleTimeout is how long a deployment with MinReplicas 0 may go
	// without a request before it sleeps.
	IdleTimeout time.Duration `json:"idle_timeout,omitempty"`

	// MinGiven tells Resolve that MinReplicas was given (0 included), so
	// a template's does not replace it. Not stored.
	MinGiven bool `json:"-"`
}

// The defaults a policy's unset fields take (after its template's).
const (
	DefaultScaleDownCooldown = 300 * time.Second
	DefaultIdleTimeout       = 15 * time.Minute
	// MinIdleTimeout keeps a deployment from sleeping between the
	// requests of one visit.
	MinIdleTimeout = 30 * time.Second
	// MaxCooldown bounds both cooldowns.
	MaxCooldown = 24 * time.Hour
)

// Resolve fills p's unset fields from its template and the defaults, and
// bounds a template's max by quota. Explicit fields win over the template.
func (p Policy) Resolve(quota int) (Policy, error) {
	if p.Template != "" {
		t, ok := Templates[p.Template]
		if !ok {
			return p, errs.Field(errs.KindInvalidArgument, "autoscale.template", "unknown template %q: use one of %s", p.Template, TemplateNames())
		}
		explicitMax := p.MaxReplicas != 0
		p = t.Policy.under(p)
		if !explicitMax {
			p.MaxReplicas = min(p.MaxReplicas, quota)
		}
	} else if !p.MinGiven {
		p.MinReplicas = 1
	}
	if p.Step == 0 {
		p.Step = 1
	}
	if p.ScaleDownCooldown == 0 {
		p.ScaleDownCooldown = DefaultScaleDownCooldown
	}
	if p.MinReplicas == 0 && p.IdleTimeout == 0 {
		p.IdleTimeout = DefaultIdleTimeout
	}
	if p.MaxReplicas == 0 {
		p.MaxReplicas = min(10, quota)
	}
	p.MinGiven = false
	return p, p.validate(quota)
}

// under returns explicit with its zero fields taken from p (a template).
func (p Policy) under(explicit Policy) Policy {
	out := explicit
	pick := func(dst *int, b int) {
		if *dst == 0 {
			*dst = b
		}
	}
	if !explicit.MinGiven {
		out.MinReplicas = p.MinReplicas
	}
	pick(&out.MaxReplicas, p.MaxReplicas)
	if !explicit.hasTarget() {
		out.TargetCPUPercent, out.TargetInflight = p.TargetCPUPercent, p.TargetInflight
		out.TargetRPS, out.TargetP95LatencyMS = p.TargetRPS, p.TargetP95LatencyMS
	}
	pick(&out.Step, p.Step)
	if out.ScaleUpCooldown == 0 {
		out.ScaleUpCooldown = p.ScaleUpCooldown
	}
	if out.ScaleDownCooldown == 0 {
		out.ScaleDownCooldown = p.ScaleDownCooldown
	}
	if out.IdleTimeout == 0 {
		out.IdleTimeout = p.IdleTimeout
	}
	return out
}

func (p Policy) hasTarget() bool {
	return p.TargetCPUPercent > 0 || p.TargetInflight > 0 || p.TargetRPS > 0 || p.TargetP95LatencyMS > 0
}

// validate checks a resolved policy. The schema has already bounded each
// field alone; these are the rules across fields and against the quota.
func (p Policy) validate(quota int) error {
	invalid := func(field, format string, args ...any) error {
		return errs.Field(errs.KindInvalidArgument, "autoscale."+field, format, args...)
	}
	switch {
	case p.MaxReplicas < 1:
		return invalid("max_replicas", "max_replicas must be at least 1")
	case p.MaxReplicas > quota:
		return errs.Field(errs.KindResourceExhausted, "autoscale.max_replicas", "max_replicas %d is over the quota of %d replicas per deployment", p.MaxReplicas, quota)
	case p.MinReplicas < 0:
		return invalid("min_replicas", "min_replicas must be 0 or more")
	case p.MinReplicas > p.MaxReplicas:
		return invalid("min_replicas", "min_replicas (%d) must not be above max_replicas (%d)", p.MinReplicas, p.MaxReplicas)
	case !p.hasTarget():
		return invalid("target_cpu_percent", "give at least one target (target_cpu_percent, target_inflight, target_rps or target_p95_latency_ms) or a template")
	case p.TargetCPUPercent < 0 || p.TargetCPUPercent > 100:
		return invalid("target_cpu_percent", "target_cpu_percent must be 1 to 100")
	case p.TargetInflight < 0:
		return invalid("target_inflight", "target_inflight must be at least 1")
	case p.Step < 1 || p.Step > quota:
		return invalid("step", "step must be 1 to %d", quota)
	case p.ScaleUpCooldown < 0 || p.ScaleUpCooldown > MaxCooldown:
		return invalid("scale_up_cooldown", "scale_up_cooldown must be 0 to %s", MaxCooldown)
	case p.ScaleDownCooldown < 0 || p.ScaleDownCooldown > MaxCooldown:
		return invalid("scale_down_cooldown", "scale_down_cooldown must be 0 to %s", MaxCooldown)
	case p.MinReplicas == 0 && p.IdleTimeout < MinIdleTimeout:
		return invalid("idle_timeout", "idle_timeout must be at least %s", MinIdleTimeout)
	}
	return nil
}

// Bounds is the policy's replica range as a person reads it.
func (p Policy) Bounds() string { return fmt.Sprintf("%d–%d", p.MinReplicas, p.MaxReplicas) }

// Floor is the fewest replicas the policy runs while awake.
func (p Policy) Floor() int { return max(p.MinReplicas, 1) }
