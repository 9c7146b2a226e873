package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/types/known/durationpb"
)

func (e *engine) metricsClient() coderunnerv1connect.MetricsServiceClient {
	return coderunnerv1connect.NewMetricsServiceClient(testenv.HTTP1Client(), e.srv.URL, connect.WithProtoJSON())
}

func (e *engine) deploymentMetrics(id string) *coderunnerv1.DeploymentMetrics {
	e.t.Helper()
	res, err := e.metricsClient().GetDeploymentMetrics(context.Background(), withToken(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: id}, e.token))
	if err != nil {
		e.t.Fatalf("GetDeploymentMetrics: %v", err)
	}
	return res.Msg.GetMetrics()
}

// request sends method path (with body) to deployment d's URL and returns
// the status.
func (e *engine) request(d *coderunnerv1.Deployment, method, path, body string) int {
	e.t.Helper()
	u, _ := url.Parse(d.GetUrl())
	req, err := http.NewRequest(method, u.Scheme+"://"+u.Host+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	client := e.appClient()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// scrape parses the server's /metrics.
func scrape(t *testing.T, srv *testenv.Server) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := testenv.HTTP1Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// metricValue returns the value of the series of name whose labels include
// labels, and whether it exists.
func metricValue(families map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := families[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for k, v := range labels {
			if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
				continue next
			}
		}
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// TestDeploymentCPUAndMemory deploys an app limited to half a core, makes
// it spin, and checks the measured CPU is about half a core; then has it
// allocate memory and checks the measurement rises. Both come from the
// sandbox's cgroup, through StreamDeploymentMetrics, GetDeploymentMetrics
// and /metrics.
func TestDeploymentCPUAndMemory(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{
		Name:   "burner",
		Files:  readDir(t, "testdata/probe"),
		Limits: &coderunnerv1.ResourceLimits{CpuMillicores: 500, MemoryBytes: 256 << 20},
	})
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	stream, err := e.metricsClient().StreamDeploymentMetrics(ctx, withToken(&coderunnerv1.StreamDeploymentMetricsRequest{
		DeploymentId: d.GetId(), Interval: durationpb.New(2 * time.Second),
	}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	next := func() *coderunnerv1.MetricsSample {
		t.Helper()
		if !stream.Receive() {
			t.Fatalf("metrics stream ended: %v", stream.Err())
		}
		return stream.Msg().GetSample()
	}
	idle := next()
	if idle.GetMemoryBytes() <= 0 || idle.GetCpuCores() > 0.2 {
		t.Errorf("idle app: %v cores, %d bytes; want a little CPU and some memory", idle.GetCpuCores(), idle.GetMemoryBytes())
	}

	e.fetchJSON(d, "/burn")
	next() // the interval the spinning started in
	var cores, percents []float64
	for range 3 {
		s := next()
		cores = append(cores, s.GetCpuCores())
		percents = append(percents, s.GetCpuPercent())
	}
	slices.Sort(cores)
	slices.Sort(percents)
	if c := cores[1]; c < 0.425 || c > 0.575 {
		t.Errorf("spinning under a 0.5-core limit: median %.3f cores over 2 s samples %v, want 0.5 ± 15%%", c, cores)
	}
	if p := percents[1]; p < 85 || p > 115 {
		t.Errorf("spinning under a 0.5-core limit: median %.1f%% of the limit %v, want 100 ± 15", p, percents)
	}

	before := next().GetMemoryBytes()
	e.fetchJSON(d, "/hold?mb=64")
	e.fetchJSON(d, "/hold?mb=64")
	after := next()
	// Node's own heap may shrink meanwhile (a GC after /burn returns a
	// few MiB to the kernel, more on a loaded machine), so three quarters
	// of what the app holds must show.
	if grew := after.GetMemoryBytes() - before; grew < 96<<20 {
		t.Errorf("after holding 128 MiB more, memory grew by %d MiB (from %d to %d bytes)", grew>>20, before, after.GetMemoryBytes())
	}
	if want := 100 * float64(after.GetMemoryBytes()) / float64(256<<20); after.GetMemoryPercent() < want-0.01 || after.GetMemoryPercent() > want+0.01 {
		t.Errorf("memory percent %.2f, want %.2f (of the 256 MiB limit)", after.GetMemoryPercent(), want)
	}
	cancel()

	// The sampler keeps a history at 5 s resolution.
	deadline := time.Now().Add(20 * time.Second)
	var m *coderunnerv1.DeploymentMetrics
	for {
		m = e.deploymentMetrics(d.GetId())
		if len(m.GetHistory()) >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(m.GetHistory()) < 2 {
		t.Fatalf("history has %d samples after the sampler ran for %s", len(m.GetHistory()), 20*time.Second)
	}
	for i := 1; i < len(m.GetHistory()); i++ {
		gap := m.GetHistory()[i].GetTime().AsTime().Sub(m.GetHistory()[i-1].GetTime().AsTime())
		if gap < 4*time.Second || gap > 7*time.Second {
			t.Errorf("history samples %d and %d are %s apart, want ~5 s", i-1, i, gap)
		}
	}
	last := m.GetHistory()[len(m.GetHistory())-1]
	// What the app holds shows as above: at least three quarters of its
	// 128 MiB. Not counted over "before": in the full suite the cgroup's
	// reclaimable page cache (part of "before") was seen to go meanwhile.
	held := int64(96 << 20)
	if last.GetCpuCores() < 0.35 || last.GetMemoryBytes() < held {
		t.Errorf("latest history sample %v cores, %d bytes; want the spinning and the held memory", last.GetCpuCores(), last.GetMemoryBytes())
	}
	if m.GetCpuLimitCores() != 0.5 || m.GetMemoryLimitBytes() != 256<<20 {
		t.Errorf("limits %v cores, %d bytes; want 0.5 and 256 MiB", m.GetCpuLimitCores(), m.GetMemoryLimitBytes())
	}
	if m.GetUptime().AsDuration() <= 0 || m.GetCurrent().GetMemoryBytes() < held {
		t.Errorf("uptime %v, current memory %d", m.GetUptime().AsDuration(), m.GetCurrent().GetMemoryBytes())
	}

	families := scrape(t, e.srv)
	replica := map[string]string{"deployment_id": d.GetId(), "replica": "0"}
	if v, ok := metricValue(families, "coderunner_deployment_cpu_seconds_total", replica); !ok || v < 1 {
		t.Errorf("coderunner_deployment_cpu_seconds_total = %v (present %v), want over a second of CPU", v, ok)
	}
	if v, ok := metricValue(families, "coderunner_deployment_memory_bytes", replica); !ok || v < 128<<20 {
		t.Errorf("coderunner_deployment_memory_bytes = %v (present %v)", v, ok)
	}
	if v, _ := metricValue(families, "coderunner_deployment_memory_limit_bytes", replica); v != 256<<20 {
		t.Errorf("coderunner_deployment_memory_limit_bytes = %v", v)
	}
	if v, _ := metricValue(families, "coderunner_deployment_cpu_limit_cores", replica); v != 0.5 {
		t.Errorf("coderunner_deployment_cpu_limit_cores = %v", v)
	}
	if v, ok := metricValue(families, "coderunner_deployment_uptime_seconds", map[string]string{"deployment_id": d.GetId()}); !ok || v <= 0 {
		t.Errorf("coderunner_deployment_uptime_seconds = %v (present %v)", v, ok)
	}
}

// TestReplicasInMetrics: a deployment of two replicas has 2 in each
// history sample of GetDeploymentMetrics and in /metrics'
// coderunner_deployment_replicas and coderunner_deployment_desired_replicas.
func TestReplicasInMetrics(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "pair", Files: example(t, "node-hello"), Replicas: 2})
	e.waitReady(d.GetId(), 2)

	// The sampler's first round with both replicas starts a series, its
	// next one adds a sample.
	var m *coderunnerv1.DeploymentMetrics
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		m = e.deploymentMetrics(d.GetId())
		if h := m.GetHistory(); len(h) > 0 && h[len(h)-1].GetReplicas() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no history sample of 2 replicas after 20 s: %v", m.GetHistory())
		}
	}
	if r := m.GetCurrent().GetReplicas(); r != 2 {
		t.Errorf("current sample has %d replicas, want 2", r)
	}
	families := scrape(t, e.srv)
	id := map[string]string{"deployment_id": d.GetId()}
	if v, ok := metricValue(families, "coderunner_deployment_replicas", id); !ok || v != 2 {
		t.Errorf("coderunner_deployment_replicas = %v (present %v), want 2", v, ok)
	}
	if v, ok := metricValue(families, "coderunner_deployment_desired_replicas", id); !ok || v != 2 {
		t.Errorf("coderunner_deployment_desired_replicas = %v (present %v), want 2", v, ok)
	}
}

// TestRouterRequestMetrics sends requests of each status class through the
// router and checks the counts, bytes and latency in GetDeploymentMetrics,
// StreamDeploymentMetrics, GetOverview and /metrics.
func TestRouterRequestMetrics(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			e := newEngine(t, db, testenv.Options{})
			d := e.runProbe("counted")

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			stream, err := e.metricsClient().StreamDeploymentMetrics(ctx, withToken(&coderunnerv1.StreamDeploymentMetricsRequest{
				DeploymentId: d.GetId(), Interval: durationpb.New(3 * time.Second),
			}, e.token))
			if err != nil {
				t.Fatal(err)
			}
			sent := map[int]int{}
			for _, code := range []int{200, 200, 200, 302, 404, 404, 500} {
				sent[e.request(d, "GET", fmt.Sprintf("/status?code=%d&ms=300", code), "")]++
			}
			if sent[200] != 3 || sent[302] != 1 || sent[404] != 2 || sent[500] != 1 {
				t.Fatalf("the app answered %v", sent)
			}
			if status := e.request(d, "POST", "/status?code=201", strings.Repeat("x", 1000)); status != 201 {
				t.Fatalf("POST = %d", status)
			}

			// The stream's sample covers its interval: 8 requests, one 5xx,
			// seven of them taking 300 ms.
			var sample *coderunnerv1.MetricsSample
			for sample.GetRequestsPerSecond() == 0 && stream.Receive() {
				sample = stream.Msg().GetSample()
			}
			if sample == nil {
				t.Fatalf("metrics stream ended: %v", stream.Err())
			}
			if got := sample.GetRequestsPerSecond() * 3; got < 7.5 || got > 8.5 {
				t.Errorf("sample counts %.2f requests in its 3 s, want 8 (all sent within one interval?)", got)
			}
			if r := sample.GetErrorRatio(); r < 0.124 || r > 0.126 {
				t.Errorf("error ratio %v, want 1/8", r)
			}
			if p := sample.GetLatencyP95Seconds(); p <= 0.25 || p > 0.5 {
				t.Errorf("p95 latency %v s, want within the 0.25–0.5 s bucket the 300 ms requests fall in", p)
			}
			cancel()

			m := e.deploymentMetrics(d.GetId())
			want := &coderunnerv1.RequestCounts{Success: 4, Redirect: 1, ClientError: 2, ServerError: 1}
			if got := m.GetRequests(); got.GetSuccess() != want.Success || got.GetRedirect() != want.Redirect || got.GetClientError() != want.ClientError || got.GetServerError() != want.ServerError {
				t.Errorf("request counts %v, want %v", got, want)
			}
			if m.GetBytesIn() != 1000 || m.GetBytesOut() < int64(len("status 200\n")*3) {
				t.Errorf("bytes in %d (want 1000), out %d", m.GetBytesIn(), m.GetBytesOut())
			}

			// A stopped app's 503 page counts as the deployment's 5xx.
			if _, err := e.client.StopDeployment(context.Background(), withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
				t.Fatal(err)
			}
			if status := e.request(d, "GET", "/", ""); status != http.StatusServiceUnavailable {
				t.Fatalf("stopped app answered %d", status)
			}
			families := scrape(t, e.srv)
			for class, want := range map[string]float64{"1xx": 0, "2xx": 4, "3xx": 1, "4xx": 2, "5xx": 2} {
				got, ok := metricValue(families, "coderunner_router_requests_total", map[string]string{"deployment_id": d.GetId(), "code_class": class})
				if !ok || got != want {
					t.Errorf("coderunner_router_requests_total{code_class=%q} = %v (present %v), want %v", class, got, ok, want)
				}
			}
			id := map[string]string{"deployment_id": d.GetId()}
			if n, _ := metricValue(families, "coderunner_router_request_duration_seconds", id); n != 9 {
				t.Errorf("latency histogram counts %v requests, want 9", n)
			}
			if n, _ := metricValue(families, "coderunner_router_request_bytes_total", id); n != 1000 {
				t.Errorf("coderunner_router_request_bytes_total = %v, want 1000", n)
			}
			if n, ok := metricValue(families, "coderunner_router_requests_in_flight", id); !ok || n != 0 {
				t.Errorf("coderunner_router_requests_in_flight = %v (present %v), want 0", n, ok)
			}

			res, err := e.metricsClient().GetOverview(context.Background(), withToken(&coderunnerv1.GetOverviewRequest{}, e.token))
			if err != nil {
				t.Fatal(err)
			}
			o := res.Msg.GetOverview()
			stopped := &coderunnerv1.StatusCount{Status: coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_STOPPED, Count: 1}
			if o.GetTotalDeployments() != 1 || len(o.GetStatusCounts()) != 1 || o.GetStatusCounts()[0].GetStatus() != stopped.Status || o.GetStatusCounts()[0].GetCount() != 1 {
				t.Errorf("overview counts %d deployments, %v; want 1 stopped", o.GetTotalDeployments(), o.GetStatusCounts())
			}
			if o.GetTotalRequests() != 9 || o.GetMemoryBytesUsed() != 0 || o.GetCpuCoresLimit() != 0 {
				t.Errorf("overview: %d requests (want 9), %d bytes and %v cores limit in use (want 0: nothing runs)", o.GetTotalRequests(), o.GetMemoryBytesUsed(), o.GetCpuCoresLimit())
			}
		})
	}
}

// TestOverviewOfRunningDeployments checks GetOverview's usage figures and
// that it covers only the caller's deployments.
func TestOverviewOfRunningDeployments(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	a := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "a", Files: example(t, "node-hello"), Limits: &coderunnerv1.ResourceLimits{CpuMillicores: 250, MemoryBytes: 128 << 20}})
	b := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "b", Files: example(t, "node-hello"), Limits: &coderunnerv1.ResourceLimits{CpuMillicores: 500, MemoryBytes: 64 << 20}})
	e.waitFor(a.GetId(), statusRunning, 30*time.Second)
	e.waitFor(b.GetId(), statusRunning, 30*time.Second)

	// Another user's deployment never shows in this user's overview (but
	// counts in the server's own gauge).
	otherToken, _ := signUp(t, e.auth)
	other, err := e.client.CreateDeployment(context.Background(), withToken(&coderunnerv1.CreateDeploymentRequest{Name: "theirs", Files: example(t, "node-hello")}, otherToken))
	if err != nil {
		t.Fatal(err)
	}
	them := *e
	them.token = otherToken
	them.waitFor(other.Msg.GetDeployment().GetId(), statusRunning, 30*time.Second)

	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := e.metricsClient().GetOverview(context.Background(), withToken(&coderunnerv1.GetOverviewRequest{}, e.token))
		if err != nil {
			t.Fatal(err)
		}
		o := res.Msg.GetOverview()
		ok := o.GetTotalDeployments() == 2 && o.GetCpuCoresLimit() == 0.75 && o.GetMemoryBytesLimit() == 192<<20 && o.GetMemoryBytesUsed() > 0
		if ok {
			if len(o.GetStatusCounts()) != 1 || o.GetStatusCounts()[0].GetCount() != 2 || o.GetStatusCounts()[0].GetStatus() != statusRunning {
				t.Errorf("status counts %v, want 2 running", o.GetStatusCounts())
			}
			if o.GetMemoryBytesUsed() > o.GetMemoryBytesLimit() {
				t.Errorf("memory in use %d over the limits %d", o.GetMemoryBytesUsed(), o.GetMemoryBytesLimit())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("overview %v; want 2 deployments, 0.75 cores and 192 MiB of limits, some memory in use", o)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The gauge is refreshed by the sampler's next round.
	var families map[string]*dto.MetricFamily
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		families = scrape(t, e.srv)
		v, _ := metricValue(families, "coderunner_deployments", map[string]string{"status": "running"})
		if v == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("coderunner_deployments{status=running} = %v, want 3 (both users')", v)
		}
	}
	if v, ok := metricValue(families, "coderunner_deployments", map[string]string{"status": "failed"}); !ok || v != 0 {
		t.Errorf("coderunner_deployments{status=failed} = %v (present %v), want 0", v, ok)
	}
	if n, _ := metricValue(families, "coderunner_deploy_ready_duration_seconds", map[string]string{"runtime": "nodejs"}); n < 2 {
		t.Errorf("deploy-to-ready histogram counts %v deployments, want at least 2", n)
	}
	if n, _ := metricValue(families, "coderunner_build_duration_seconds", map[string]string{"runtime": "nodejs", "result": "success"}); n < 2 {
		t.Errorf("build histogram counts %v builds, want at least 2", n)
	}
	if n, _ := metricValue(families, "coderunner_log_lines_ingested_total", nil); n < 4 {
		t.Errorf("coderunner_log_lines_ingested_total = %v", n)
	}
	if _, ok := metricValue(families, "coderunner_log_lines_dropped_total", nil); !ok {
		t.Error("coderunner_log_lines_dropped_total missing")
	}
	if v, _ := metricValue(families, "coderunner_ready", nil); v != 1 {
		t.Errorf("coderunner_ready = %v, want 1", v)
	}
	if _, ok := metricValue(families, "go_sql_open_connections", map[string]string{"db_name": "coderunner"}); !ok {
		t.Error("database pool metrics (go_sql_open_connections) missing")
	}
}

// TestMetricsBadInput covers the MetricsService's refusals.
func TestMetricsBadInput(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "mine", Files: example(t, "node-hello")})
	ctx := context.Background()
	client := e.metricsClient()

	_, err := client.GetDeploymentMetrics(ctx, withToken(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: "not-a-uuid"}, e.token))
	if got := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !slices.Equal(got, []string{"deployment_id:string.uuid"}) {
		t.Errorf("violations %v", got)
	}
	_, err = client.GetDeploymentMetrics(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: d.GetId()}))
	wantCode(t, err, connect.CodeUnauthenticated)

	otherToken, _ := signUp(t, e.auth)
	_, err = client.GetDeploymentMetrics(ctx, withToken(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: d.GetId()}, otherToken))
	wantCode(t, err, connect.CodeNotFound, "deployment not found")

	streamErr := func(req *coderunnerv1.StreamDeploymentMetricsRequest, token string) error {
		stream, err := client.StreamDeploymentMetrics(ctx, withToken(req, token))
		if err != nil {
			return err
		}
		for stream.Receive() {
		}
		return stream.Err()
	}
	for _, bad := range []time.Duration{500 * time.Millisecond, 61 * time.Second} {
		err := streamErr(&coderunnerv1.StreamDeploymentMetricsRequest{DeploymentId: d.GetId(), Interval: durationpb.New(bad)}, e.token)
		if got := violations(t, wantCode(t, err, connect.CodeInvalidArgument, "greater than or equal to 1s and less than or equal to 60s")); !slices.Equal(got, []string{"interval:duration.gte_lte"}) {
			t.Errorf("interval %s: violations %v", bad, got)
		}
	}
	wantCode(t, streamErr(&coderunnerv1.StreamDeploymentMetricsRequest{DeploymentId: d.GetId()}, otherToken), connect.CodeNotFound)

	// Deleting the deployment ends its metrics stream at once, not at the
	// next sample (a minute away here): the stream watches its status.
	stream, err := client.StreamDeploymentMetrics(ctx, withToken(&coderunnerv1.StreamDeploymentMetricsRequest{DeploymentId: d.GetId(), Interval: durationpb.New(time.Minute)}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() {
		for stream.Receive() {
		}
		ended <- stream.Err()
	}()
	time.Sleep(300 * time.Millisecond) // the stream is open and watching
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		wantCode(t, err, connect.CodeNotFound, "deleted")
	case <-time.After(20 * time.Second):
		t.Fatal("a stream with a 1 min interval was still open 20 s after the delete")
	}
	// Opened after the delete, a stream is refused at once.
	wantCode(t, streamErr(&coderunnerv1.StreamDeploymentMetricsRequest{DeploymentId: d.GetId(), Interval: durationpb.New(time.Minute)}, e.token), connect.CodeNotFound)
}

// TestMetricsToken checks that CODERUNNER_METRICS_TOKEN guards both
// metrics paths.
func TestMetricsToken(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.MetricsToken = "scrape-secret" }})
	for _, path := range []string{"/metrics", "/api/metrics"} {
		if status, header, body := get(t, srv.URL+path, nil); status != http.StatusUnauthorized || header.Get("WWW-Authenticate") == "" || !strings.Contains(body, "CODERUNNER_METRICS_TOKEN") {
			t.Errorf("%s without the token = %d %q", path, status, body)
		}
		if status, _, _ := get(t, srv.URL+path, map[string]string{"Authorization": "Bearer wrong"}); status != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token = %d", path, status)
		}
		if status, _, body := get(t, srv.URL+path, map[string]string{"Authorization": "Bearer scrape-secret"}); status != 200 || !strings.Contains(body, "coderunner_ready") {
			t.Errorf("%s with the token = %d", path, status)
		}
	}
}

// TestUpgradedBytesAreCounted: the bytes that cross an upgraded (WebSocket)
// connection count as the deployment's bytes in and out, once it closes.
func TestUpgradedBytesAreCounted(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("ws")
	u, _ := url.Parse(d.GetUrl())
	before := e.deploymentMetrics(d.GetId())

	conn, reader := upgradeProbe(t, e, u.Host)
	const sent = 3
	msg := []byte("ping through the router")
	for range sent {
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(reader, make([]byte, len(msg))); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()

	want := int64(sent * len(msg))
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := e.deploymentMetrics(d.GetId())
		in, out := m.GetBytesIn()-before.GetBytesIn(), m.GetBytesOut()-before.GetBytesOut()
		if in == want && out == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the upgraded connection: bytes in +%d, out +%d; want +%d each", in, out, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
