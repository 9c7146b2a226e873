package metrics

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestQuantileInterpolatesWithinBuckets(t *testing.T) {
	traffic := NewTraffic()
	d := traffic.For("a")
	before := d.Snapshot()
	// 90 fast requests (≤ 1 ms) and 10 of 300 ms: p95 lies among the slow
	// ones, in the (0.25, 0.5] bucket, halfway through its 10.
	for range 90 {
		d.Begin()
		d.End(200, 500*time.Microsecond, 0, 0)
	}
	for range 10 {
		d.Begin()
		d.End(200, 300*time.Millisecond, 0, 0)
	}
	after := d.Snapshot()
	if got, want := Quantile(0.95, before, after), 0.25+0.25*0.5; math.Abs(got-want) > 1e-9 {
		t.Errorf("p95 = %v, want %v", got, want)
	}
	if got := Quantile(0.5, before, after); got <= 0 || got > 0.001 {
		t.Errorf("p50 = %v, want within the first bucket", got)
	}
	if got := Quantile(0.95, after, after); got != 0 {
		t.Errorf("p95 of no requests = %v, want 0", got)
	}
	d.Begin()
	d.End(200, time.Minute, 0, 0)
	if got := Quantile(0.95, after, d.Snapshot()); got != 10 {
		t.Errorf("p95 beyond the last bound = %v, want the highest bound 10", got)
	}
}

func TestTrafficCountsAndExports(t *testing.T) {
	traffic := NewTraffic()
	d := traffic.For("dep-1")
	for _, status := range []int{101, 200, 204, 301, 404, 503, 0} {
		d.Begin()
		d.End(status, 2*time.Millisecond, 10, 20)
	}
	d.Begin() // one still in flight
	s := traffic.Snapshot("dep-1")
	if s.Classes != [5]int64{1, 2, 1, 1, 2} || s.InFlight != 1 || s.BytesIn != 70 || s.BytesOut != 140 || s.Requests() != 7 {
		t.Fatalf("snapshot %+v", s)
	}

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(traffic)
	want := `
# HELP coderunner_router_requests_in_flight Requests to a deployment being served right now.
# TYPE coderunner_router_requests_in_flight gauge
coderunner_router_requests_in_flight{deployment_id="dep-1"} 1
# HELP coderunner_router_requests_total Requests the router answered for a deployment, by status class (the router's own 502/503 included).
# TYPE coderunner_router_requests_total counter
coderunner_router_requests_total{code_class="1xx",deployment_id="dep-1"} 1
coderunner_router_requests_total{code_class="2xx",deployment_id="dep-1"} 2
coderunner_router_requests_total{code_class="3xx",deployment_id="dep-1"} 1
coderunner_router_requests_total{code_class="4xx",deployment_id="dep-1"} 1
coderunner_router_requests_total{code_class="5xx",deployment_id="dep-1"} 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "coderunner_router_requests_total", "coderunner_router_requests_in_flight"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(traffic, "coderunner_router_request_duration_seconds"); n != 1 {
		t.Errorf("%d latency histograms, want 1", n)
	}

	traffic.Forget("dep-1")
	if n := testutil.CollectAndCount(traffic); n != 0 {
		t.Errorf("%d series after Forget, want 0", n)
	}
}
