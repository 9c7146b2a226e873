package metrics

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets are the upper bounds, in seconds, of the router's request
// latency histogram. p95 over an interval is interpolated within them.
var LatencyBuckets = [...]float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// StatusClasses name the counted status classes, index 0 for 1xx.
var StatusClasses = [5]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// Traffic counts requests the router serves, per deployment. Counting is a
// handful of atomic adds on the request path; the Prometheus collector and
// the sampler read snapshots, so scraping never holds up a request.
type Traffic struct {
	mu    sync.RWMutex
	byID  map[string]*DeploymentTraffic
	descs trafficDescs
}

// DeploymentTraffic is one deployment's counters since the server started.
type DeploymentTraffic struct {
	classes  [len(StatusClasses)]atomic.Int64
	inFlight atomic.Int64
	bytesIn  atomic.Int64
	bytesOut atomic.Int64
	// buckets[i] counts requests with latency <= LatencyBuckets[i] and
	// above the previous bound; the last one counts the rest (+Inf).
	buckets  [len(LatencyBuckets) + 1]atomic.Uint64
	sumNanos atomic.Int64
}

// TrafficSnapshot is a copy of a deployment's counters at one moment.
type TrafficSnapshot struct {
	Classes  [len(StatusClasses)]int64
	InFlight int64
	BytesIn  int64
	BytesOut int64
	Buckets  [len(LatencyBuckets) + 1]uint64
	Sum      time.Duration
}

// Requests is the number of finished requests.
func (s TrafficSnapshot) Requests() int64 {
	var n int64
	for _, c := range s.Classes {
		n += c
	}
	return n
}

// NewTraffic returns an empty Traffic.
func NewTraffic() *Traffic {
	return &Traffic{byID: map[string]*DeploymentTraffic{}, descs: newTrafficDescs()}
}

// For returns deploymentID's counters, creating them on first use.
func (t *Traffic) For(deploymentID string) *DeploymentTraffic {
	t.mu.RLock()
	d := t.byID[deploymentID]
	t.mu.RUnlock()
	if d != nil {
		return d
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if d = t.byID[deploymentID]; d == nil {
		d = new(DeploymentTraffic)
		t.byID[deploymentID] = d
	}
	return d
}

// Snapshot returns deploymentID's counters; zero when it had no traffic.
func (t *Traffic) Snapshot(deploymentID string) TrafficSnapshot {
	t.mu.RLock()
	d := t.byID[deploymentID]
	t.mu.RUnlock()
	if d == nil {
		return TrafficSnapshot{}
	}
	return d.Snapshot()
}

// Forget drops a deleted deployment's counters, so its series leave
// /metrics.
func (t *Traffic) Forget(deploymentID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.byID, deploymentID)
}

// Begin marks a request as in flight; call End when it is answered.
func (d *DeploymentTraffic) Begin() { d.inFlight.Add(1) }

// End records an answered request.
func (d *DeploymentTraffic) End(status int, took time.Duration, bytesIn, bytesOut int64) {
	d.inFlight.Add(-1)
	class := status/100 - 1
	if class < 0 || class >= len(StatusClasses) {
		class = len(StatusClasses) - 1 // a nonsense status is the server's fault
	}
	d.classes[class].Add(1)
	d.bytesIn.Add(bytesIn)
	d.bytesOut.Add(bytesOut)
	seconds := took.Seconds()
	i := 0
	for i < len(LatencyBuckets) && seconds > LatencyBuckets[i] {
		i++
	}
	d.buckets[i].Add(1)
	d.sumNanos.Add(int64(took))
}

// Snapshot copies the counters. Each is read atomically; together they are
// consistent to within the requests that finish while copying.
func (d *DeploymentTraffic) Snapshot() TrafficSnapshot {
	var s TrafficSnapshot
	for i := range d.classes {
		s.Classes[i] = d.classes[i].Load()
	}
	s.InFlight = d.inFlight.Load()
	s.BytesIn = d.bytesIn.Load()
	s.BytesOut = d.bytesOut.Load()
	for i := range d.buckets {
		s.Buckets[i] = d.buckets[i].Load()
	}
	s.Sum = time.Duration(d.sumNanos.Load())
	return s
}

// Quantile estimates the q-quantile (0 < q < 1) of the latencies counted
// between before and after, interpolating linearly inside the bucket it
// falls in, as Prometheus' histogram_quantile does. It returns 0 when no
// request finished in between; a quantile in the +Inf bucket is reported
// as the highest finite bound.
func Quantile(q float64, before, after TrafficSnapshot) float64 {
	var counts [len(LatencyBuckets) + 1]uint64
	var total uint64
	for i := range counts {
		counts[i] = after.Buckets[i] - before.Buckets[i]
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen uint64
	for i, c := range counts {
		if float64(seen+c) < rank || c == 0 {
			seen += c
			continue
		}
		if i == len(LatencyBuckets) {
			return LatencyBuckets[len(LatencyBuckets)-1]
		}
		lower := 0.0
		if i > 0 {
			lower = LatencyBuckets[i-1]
		}
		return lower + (LatencyBuckets[i]-lower)*(rank-float64(seen))/float64(c)
	}
	return LatencyBuckets[len(LatencyBuckets)-1]
}

type trafficDescs struct {
	requests, inFlight, duration, bytesIn, bytesOut *prometheus.Desc
}

func newTrafficDescs() trafficDescs {
	id := []string{"deployment_id"}
	return trafficDescs{
		requests: prometheus.NewDesc("coderunner_router_requests_total",
			"Requests the router answered for a deployment, by status class (the router's own 502/503 included).",
			[]string{"deployment_id", "code_class"}, nil),
		inFlight: prometheus.NewDesc("coderunner_router_requests_in_flight",
			"Requests to a deployment being served right now.", id, nil),
		duration: prometheus.NewDesc("coderunner_router_request_duration_seconds",
			"Time from a request reaching the router to its response ending, per deployment.", id, nil),
		bytesIn: prometheus.NewDesc("coderunner_router_request_bytes_total",
			"Request body bytes the router passed to a deployment.", id, nil),
		bytesOut: prometheus.NewDesc("coderunner_router_response_bytes_total",
			"Response body bytes the router passed back from a deployment.", id, nil),
	}
}

// Describe implements prometheus.Collector.
func (t *Traffic) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.descs.requests
	ch <- t.descs.inFlight
	ch <- t.descs.duration
	ch <- t.descs.bytesIn
	ch <- t.descs.bytesOut
}

// Collect implements prometheus.Collector.
func (t *Traffic) Collect(ch chan<- prometheus.Metric) {
	t.mu.RLock()
	snapshots := make(map[string]TrafficSnapshot, len(t.byID))
	for id, d := range t.byID {
		snapshots[id] = d.Snapshot()
	}
	t.mu.RUnlock()
	for id, s := range snapshots {
		for i, class := range StatusClasses {
			ch <- prometheus.MustNewConstMetric(t.descs.requests, prometheus.CounterValue, float64(s.Classes[i]), id, class)
		}
		ch <- prometheus.MustNewConstMetric(t.descs.inFlight, prometheus.GaugeValue, float64(s.InFlight), id)
		cumulative := make(map[float64]uint64, len(LatencyBuckets))
		var running uint64
		for i, bound := range LatencyBuckets {
			running += s.Buckets[i]
			cumulative[bound] = running
		}
		count := running + s.Buckets[len(LatencyBuckets)]
		ch <- prometheus.MustNewConstHistogram(t.descs.duration, count, s.Sum.Seconds(), cumulative, id)
		ch <- prometheus.MustNewConstMetric(t.descs.bytesIn, prometheus.CounterValue, float64(s.BytesIn), id)
		ch <- prometheus.MustNewConstMetric(t.descs.bytesOut, prometheus.CounterValue, float64(s.BytesOut), id)
	}
}
