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
	// coldStarts counts wakes of idle deployments by result; coldStart
	// times the successful ones, from the first held request to ready.
	coldStarts *prometheus.CounterVec
	coldStart  prometheus.Histogram
	// prepared counts the sandboxes kept prepared for sleeping
	// deployments' wakes.
	prepared prometheus.Gauge
}

// coldStartBuckets span a warm node start (tens of ms) to --ready-timeout.
var coldStartBuckets = []float64{.01, .025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2.5, 5, 10, 30, 60}

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
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coderunner_cold_starts_total",
			Help: "Wakes of idle (scaled to zero) deployments by a request, by result (woke, failed, cancelled).",
		}, []string{"result"}),
		coldStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "coderunner_cold_start_seconds",
			Help:    "Time from the first request held for an idle deployment to a replica ready to answer it.",
			Buckets: coldStartBuckets,
		}),
		prepared: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "coderunner_prepared_sandboxes",
			Help: "Sandboxes set up and waiting for their command, one per sleeping deployment (warm wake).",
		}),
	}
	reg.MustRegister(p.build, p.ready, p.coldStarts, p.coldStart, p.prepared)
	// Every result has a series from the start (0 until it happens), so a
	// dashboard shows no wake rather than no data.
	for _, result := range []string{"woke", "failed", "cancelled"} {
		p.coldStarts.WithLabelValues(result)
	}
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

// ObserveColdStart records a wake that ended with result ("woke",
// "failed" or "cancelled") after took.
func (p *Platform) ObserveColdStart(result string, took time.Duration) {
	if p == nil {
		return
	}
	p.coldStarts.WithLabelValues(result).Inc()
	if result == "woke" {
		p.coldStart.Observe(took.Seconds())
	}
}

// Prepared records a sandbox prepared for a wake (+1) or used or
// discarded (-1).
func (p *Platform) Prepared(delta int) {
	if p == nil {
		return
	}
	p.prepared.Add(float64(delta))
}

// Forget drops what is kept about a deleted deployment.
func (p *Platform) Forget(deploymentID string) {
	if p == nil || p.traffic == nil {
		return
	}
	p.traffic.Forget(deploymentID)
}
