package autoscale

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/errs"
)

func resolved(t *testing.T, p Policy) Policy {
	t.Helper()
	p, err := p.Resolve(10)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return p
}

func TestDecide(t *testing.T) {
	now := time.Now()
	long := now.Add(-time.Hour)
	cpu := resolved(t, Policy{MaxReplicas: 5, TargetCPUPercent: 70})
	for _, tc := range []struct {
		name   string
		policy Policy
		obs    Observation
		want   int // 0: no change
		reason string
	}{
		{"cpu over target adds one (step 1)", cpu, Observation{Replicas: 1, Ready: 1, CPUPercent: 200}, 2, "cpu 200 % of limit > 70 %"},
		{"within tolerance holds", cpu, Observation{Replicas: 2, Ready: 2, CPUPercent: 75}, 0, ""},
		{"max bounds", cpu, Observation{Replicas: 5, Ready: 5, CPUPercent: 300}, 0, ""},
		{"calm scales down after the cooldown", cpu, Observation{Replicas: 3, Ready: 3, CPUPercent: 5, LastChange: long}, 2, "cpu 5 % of limit < 70 %"},
		{"calm holds within the cooldown", cpu, Observation{Replicas: 3, Ready: 3, CPUPercent: 5, LastChange: now.Add(-time.Minute)}, 0, ""},
		{"no scale-down while replicas start", cpu, Observation{Replicas: 3, Ready: 2, CPUPercent: 5, LastChange: long}, 0, ""},
		{"up cooldown holds", resolved(t, Policy{MaxReplicas: 5, TargetCPUPercent: 70, ScaleUpCooldown: time.Minute}),
			Observation{Replicas: 1, Ready: 1, CPUPercent: 200, LastUp: now.Add(-time.Second)}, 0, ""},
		{"largest target wins", resolved(t, Policy{MaxReplicas: 10, TargetCPUPercent: 70, TargetInflight: 2, Step: 10}),
			Observation{Replicas: 1, Ready: 1, CPUPercent: 100, InFlight: 8}, 4, "8.0 requests in flight per replica > 2"},
		{"below min comes back at once", resolved(t, Policy{MinReplicas: 3, MinGiven: true, MaxReplicas: 5, TargetCPUPercent: 70}),
			Observation{Replicas: 1, Ready: 1, CPUPercent: 10}, 3, ""},
		{"latency without requests is no figure", resolved(t, Policy{MaxReplicas: 5, TargetP95LatencyMS: 100}),
			Observation{Replicas: 1, Ready: 1, P95: 2}, 0, ""},
		{"latency over target", resolved(t, Policy{MaxReplicas: 5, TargetP95LatencyMS: 100, Step: 5}),
			Observation{Replicas: 1, Ready: 1, P95: 0.3, Requests: true}, 3, "p95 300 ms > 100 ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.obs.Now = now
			d, changed := tc.policy.Decide(tc.obs)
			if got := map[bool]int{true: d.Replicas}[changed]; got != tc.want {
				t.Fatalf("Decide = %d (%v, %q), want %d", d.Replicas, changed, d.Reason, tc.want)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q, want it to say %q", d.Reason, tc.reason)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	p := resolved(t, Policy{Template: "performance"})
	if p.MaxReplicas != 10 || p.MinReplicas != 2 || p.Step != 3 || p.TargetCPUPercent != 50 || p.ScaleDownCooldown != 180*time.Second {
		t.Errorf("performance under a quota of 10 = %+v", p)
	}
	p = resolved(t, Policy{Template: "responsive", MaxReplicas: 4, TargetInflight: 7})
	if p.MinReplicas != 2 || p.MaxReplicas != 4 || p.TargetInflight != 7 || p.TargetCPUPercent != 0 {
		t.Errorf("explicit fields over responsive = %+v", p)
	}
	p = resolved(t, Policy{Template: "scale_to_zero", MinReplicas: 1, MinGiven: true})
	if p.MinReplicas != 1 {
		t.Errorf("a given min 1 over scale_to_zero = %d", p.MinReplicas)
	}
	if p := resolved(t, Policy{TargetCPUPercent: 50}); p.MinReplicas != 1 || p.MaxReplicas != 10 || p.ScaleDownCooldown != DefaultScaleDownCooldown {
		t.Errorf("defaults = %+v", p)
	}
	for _, tc := range []struct {
		policy Policy
		kind   errs.Kind
		field  string
	}{
		{Policy{MinReplicas: 4, MinGiven: true, MaxReplicas: 2, TargetCPUPercent: 50}, errs.KindInvalidArgument, "autoscale.min_replicas"},
		{Policy{MaxReplicas: 11, TargetCPUPercent: 50}, errs.KindResourceExhausted, "autoscale.max_replicas"},
		{Policy{MaxReplicas: 3}, errs.KindInvalidArgument, "autoscale.target_cpu_percent"},
		{Policy{MinGiven: true, MaxReplicas: 3, TargetInflight: 1, IdleTimeout: 10 * time.Second}, errs.KindInvalidArgument, "autoscale.idle_timeout"},
		{Policy{Template: "turbo"}, errs.KindInvalidArgument, "autoscale.template"},
	} {
		_, err := tc.policy.Resolve(10)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != tc.kind || e.Field != tc.field {
			t.Errorf("Resolve(%+v) = %v, want %v on %s", tc.policy, err, tc.kind, tc.field)
		}
	}
}
