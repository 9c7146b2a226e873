package autoscale

import (
	"slices"
	"strings"
	"time"
)

// Template is a named preset: a policy's unset fields take its values.
type Template struct {
	Name        string
	Description string
	Policy      Policy
}

// Templates are the presets by name. performance asks for up to 25
// replicas; a template's max is bounded by the replica quota.
var Templates = map[string]Template{
	"cost_optimized": {Name: "cost_optimized", Description: "fewest replicas: scale up late, down slowly",
		Policy: Policy{MinReplicas: 1, MaxReplicas: 3, TargetCPUPercent: 80, Step: 1,
			ScaleUpCooldown: 60 * time.Second, ScaleDownCooldown: 900 * time.Second}},
	"balanced": {Name: "balanced", Description: "the defaults: CPU 70 %, 1–10, down after 300 s",
		Policy: Policy{MinReplicas: 1, MaxReplicas: 10, TargetCPUPercent: 70, Step: 1,
			ScaleDownCooldown: 300 * time.Second}},
	"scale_to_zero": {Name: "scale_to_zero", Description: "sleeps after 15 min without a request, wakes on the next",
		Policy: Policy{MinReplicas: 0, MaxReplicas: 5, TargetInflight: 20, Step: 1,
			ScaleDownCooldown: 300 * time.Second, IdleTimeout: 15 * time.Minute}},
	"responsive": {Name: "responsive", Description: "two replicas always, CPU 60 % or 50 requests in flight, ±2 at a time",
		Policy: Policy{MinReplicas: 2, MaxReplicas: 10, TargetCPUPercent: 60, TargetInflight: 50, Step: 2,
			ScaleDownCooldown: 240 * time.Second}},
	"performance": {Name: "performance", Description: "headroom first: CPU 50 %, p95 200 ms, ±3 at a time, down after 180 s",
		Policy: Policy{MinReplicas: 2, MaxReplicas: 25, TargetCPUPercent: 50, TargetP95LatencyMS: 200, Step: 3,
			ScaleDownCooldown: 180 * time.Second}},
}

// TemplateNames lists the templates' names, for messages.
func TemplateNames() string {
	names := make([]string, 0, len(Templates))
	for name := range Templates {
		names = append(names, name)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
