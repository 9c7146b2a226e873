package deploymentrpc

import (
	"google.golang.org/protobuf/types/known/durationpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/autoscale"
)

// policyFromProto reads an AutoscalePolicy; nil stays nil.
func policyFromProto(m *coderunnerv1.AutoscalePolicy) *autoscale.Policy {
	if m == nil {
		return nil
	}
	return &autoscale.Policy{
		Template:           m.GetTemplate(),
		MinReplicas:        int(m.GetMinReplicas()),
		MinGiven:           m.MinReplicas != nil,
		MaxReplicas:        int(m.GetMaxReplicas()),
		TargetCPUPercent:   int(m.GetTargetCpuPercent()),
		TargetInflight:     int(m.GetTargetInflight()),
		TargetRPS:          m.GetTargetRps(),
		TargetP95LatencyMS: int(m.GetTargetP95LatencyMs()),
		ScaleUpCooldown:    m.GetScaleUpCooldown().AsDuration(),
		ScaleDownCooldown:  m.GetScaleDownCooldown().AsDuration(),
		Step:               int(m.GetStep()),
		IdleTimeout:        m.GetIdleTimeout().AsDuration(),
	}
}

// policyToProto shows a stored (resolved) policy; nil stays nil.
func policyToProto(p *autoscale.Policy) *coderunnerv1.AutoscalePolicy {
	if p == nil {
		return nil
	}
	minReplicas := int32(p.MinReplicas)
	m := &coderunnerv1.AutoscalePolicy{
		Template:           p.Template,
		MinReplicas:        &minReplicas,
		MaxReplicas:        int32(p.MaxReplicas),
		TargetCpuPercent:   int32(p.TargetCPUPercent),
		TargetInflight:     int32(p.TargetInflight),
		TargetRps:          p.TargetRPS,
		TargetP95LatencyMs: int32(p.TargetP95LatencyMS),
		ScaleUpCooldown:    durationpb.New(p.ScaleUpCooldown),
		ScaleDownCooldown:  durationpb.New(p.ScaleDownCooldown),
		Step:               int32(p.Step),
	}
	if p.MinReplicas == 0 {
		m.IdleTimeout = durationpb.New(p.IdleTimeout)
	}
	return m
}
