package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Platform measures the deployment pipeline. Its methods are safe on a nil
// *Platform, which records nothing (tests that build an orchestrator alone).
type Platform struct {
	traffic *Traffic
	build   *prometheus.HistogramVec
	ready   *prometheus.HistogramVec
}

// deployBuckets span a cached node app (tens of ms) to a slow npm install.
var deployBuckets = []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}

// NewPlatform registers the pipeline metrics on reg; traffic is the
// router's counters, forgotten with deleted deployments.
func NewPlatform(reg prometheus.Registerer, traffic *Traffic) *Platform {
	p := &Platform{
		traffic: traffic,
		build: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coderunner_build_duration_seconds",
			Help:    "Time to provision and build a deployment (write the source, install dependencies), by runtime and result.",
			Buckets: deployBuckets,
		}, []string{"runtime", "result"}),
		ready: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coderunner_deploy_ready_duration_seconds",
			Help:    "Time from a deploy, start or restart beginning to the deployment being RUNNING, by runtime.",
			Buckets: deployBuckets,
		}, []string{"runtime"}),
	}
	reg.MustRegister(p.build, p.ready)
	return p
}

// ObserveBuild records a finished build.
func (p *Platform) ObserveBuild(runtime string, ok bool, took time.Duration) {
	if p == nil {
		return
	}
	result := "success"
	if !ok {
		result = "failure"
	}
	p.build.WithLabelValues(runtime, result).Observe(took.Seconds())
}

// ObserveReady records a deployment becoming RUNNING.
func (p *Platform) ObserveReady(runtime string, took time.Duration) {
	if p == nil {
		return
	}
	p.ready.WithLabelValues(runtime).Observe(took.Seconds())
}

// Forget drops what is kept about a deleted deployment.
func (p *Platform) Forget(deploymentID string) {
	if p == nil || p.traffic == nil {
		return
	}
	p.traffic.Forget(deploymentID)
}
