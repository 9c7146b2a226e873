package api_test

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/router"
	"github.com/coderunner/coderunner/server/testenv"
)

const statusIdle = coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_IDLE

// sleeperApp answers every path after ?ms= ms; /break makes every later
// start exit at once, /slow makes it wait 4 s before listening.
const sleeperApp = `const fs = require("fs"), path = require("path");
const dir = process.env.DATA_DIR;
if (fs.existsSync(path.join(dir, "broken"))) { console.error("broken on purpose"); process.exit(1); }
const delay = fs.existsSync(path.join(dir, "slow")) ? 4000 : 0;
const server = require("http").createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/break" || url.pathname === "/slow") fs.writeFileSync(path.join(dir, url.pathname === "/break" ? "broken" : "slow"), "1");
  setTimeout(() => res.end("awake " + process.pid), Number(url.searchParams.get("ms") || 0));
});
setTimeout(() => server.listen(process.env.PORT, process.env.HOST), delay);`

// answer is one response as the test saw it.
type answer struct {
	status     int
	retryAfter string
	coldStart  string
	body       string
	err        error
}

// burst sends n requests for path to d at once and returns the answers.
func (e *engine) burst(d *coderunnerv1.Deployment, path string, n int) []answer {
	u, _ := url.Parse(d.GetUrl())
	client := e.appClient()
	client.Timeout = time.Minute
	out := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := client.Get(u.Scheme + "://" + u.Host + path)
			if err != nil {
				out[i].err = err
				return
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			out[i] = answer{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), coldStart: res.Header.Get(router.ColdStartHeader), body: string(body)}
		})
	}
	wg.Wait()
	return out
}

func tally(answers []answer) map[string]int {
	out := map[string]int{}
	for _, a := range answers {
		key := fmt.Sprint(a.status)
		if a.err != nil {
			key = "error"
		}
		out[key]++
	}
	return out
}

// TestScaleToZero: deployments under a min-0 policy go IDLE after
// idle_timeout without a request. A request wakes one: requests that
// arrive while it starts are held and served (each with the cold-start
// header), never 502/504; past the bound on held requests they get 503
// with Retry-After. A wake that cannot start is a 503 naming why and the
// deployment is FAILED, not woken again by the next request. A stop
// or a delete during a wake cancels it: the held request gets a 503
// saying so.
func TestScaleToZero(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.MaxHeldRequests = 8 }})
	zero := int32(0)
	policy := &coderunnerv1.AutoscalePolicy{MinReplicas: &zero, MaxReplicas: 2, TargetInflight: 50, IdleTimeout: durationpb.New(30 * time.Second)}
	files := []*coderunnerv1.SourceFile{{Path: "package.json", Content: []byte(`{"name":"sleeper"}`)}, {Path: "server.js", Content: []byte(sleeperApp)}}
	names := []string{"held", "bounded", "crasher", "stopper", "deleter"}
	apps := map[string]*coderunnerv1.Deployment{}
	for _, name := range names {
		apps[name] = e.create(&coderunnerv1.CreateDeploymentRequest{Name: name, Files: files, Autoscale: policy})
	}
	for _, name := range names {
		apps[name] = e.waitFor(apps[name].GetId(), statusRunning, time.Minute)
	}
	if status, _ := e.fetch(apps["crasher"], "/break"); status != 200 {
		t.Fatalf("break: %d", status)
	}
	for _, name := range []string{"stopper", "deleter"} {
		if status, _ := e.fetch(apps[name], "/slow"); status != 200 {
			t.Fatalf("slow %s: %d", name, status)
		}
	}
	for _, name := range names {
		d := e.waitFor(apps[name].GetId(), statusIdle, 70*time.Second)
		if !strings.HasPrefix(d.GetStatusReason(), "asleep: no request for 3") || d.GetReadyReplicas() != 0 {
			t.Errorf("%s idle: %q, %d ready", name, d.GetStatusReason(), d.GetReadyReplicas())
		}
	}

	// Held: 8 requests at once, all served by the woken replica.
	held := e.burst(apps["held"], "/?ms=100", 8)
	for _, a := range held {
		if a.status != 200 || !strings.HasPrefix(a.body, "awake") || a.coldStart == "" {
			t.Errorf("held request: %+v", a)
		}
	}
	if d := e.get(apps["held"].GetId()); d.GetStatus() != statusRunning || d.GetReadyReplicas() != 1 {
		t.Errorf("after the wake: %v, %d ready", d.GetStatus(), d.GetReadyReplicas())
	}
	metrics, err := e.metricsClient().GetDeploymentMetrics(context.Background(), withToken(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: apps["held"].GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	if cs := metrics.Msg.GetMetrics().GetColdStarts(); len(cs) != 1 || cs[0].GetHeldRequests() < 1 || cs[0].GetError() != "" || cs[0].GetTook().AsDuration() <= 0 {
		t.Errorf("cold starts %v", cs)
	}

	// Bounded: 40 at once, 8 held; the rest 503 with Retry-After.
	bounded := e.burst(apps["bounded"], "/?ms=100", 40)
	counts := tally(bounded)
	if counts["200"] < 8 || counts["200"]+counts["503"] != 40 || counts["503"] == 0 {
		t.Errorf("40 requests at a bound of 8: %v", counts)
	}
	for _, a := range bounded {
		if a.status == 503 && (a.retryAfter == "" || !strings.Contains(a.body, "waiting")) {
			t.Errorf("refused request: %+v", a)
			break
		}
	}

	// Crasher: the wake fails with the reason, and is not tried again.
	first := e.burst(apps["crasher"], "/", 3)
	for _, a := range first {
		if a.status != 503 || !strings.Contains(a.body, "did not wake") || !strings.Contains(a.body, "broken on purpose") {
			t.Errorf("request to a crashing wake: %+v", a)
		}
	}
	if d := e.get(apps["crasher"].GetId()); d.GetStatus() != statusFailed {
		t.Errorf("crasher after its wake: %v %q", d.GetStatus(), d.GetStatusReason())
	}
	again := e.burst(apps["crasher"], "/", 1)[0]
	if again.status != 503 || !strings.Contains(again.body, "failed") {
		t.Errorf("request to the failed crasher: %+v", again)
	}
	if wakes := countContaining(e.events(apps["crasher"].GetId()), "waking: a request arrived"); wakes != 1 {
		t.Errorf("crasher woke %d times", wakes)
	}

	// Stopper and deleter: a stop or a delete during the wake answers the
	// held request.
	ctx := context.Background()
	e.cancelDuringWake(apps["stopper"], "stopped while waking", func(id string) error {
		_, err := e.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: id}, e.token))
		return err
	})
	e.cancelDuringWake(apps["deleter"], "deleted while waking", func(id string) error {
		_, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: id}, e.token))
		return err
	})

	families := scrape(t, e.srv)
	for result, want := range map[string]float64{"woke": 2, "failed": 1, "cancelled": 2} {
		if got, _ := metricValue(families, "coderunner_cold_starts_total", map[string]string{"result": result}); got != want {
			t.Errorf("coderunner_cold_starts_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if n, _ := metricValue(families, "coderunner_cold_start_seconds", nil); n != 2 {
		t.Errorf("coderunner_cold_start_seconds has %v samples, want 2", n)
	}
}

// cancelDuringWake sends a request to the idle d, runs action on d once it
// is waking, and wants the held request answered 503 with a body saying want.
func (e *engine) cancelDuringWake(d *coderunnerv1.Deployment, want string, action func(id string) error) {
	e.t.Helper()
	held := make(chan answer)
	go func() { held <- e.burst(d, "/", 1)[0] }()
	waitUntil(e.t, 10*time.Second, d.GetName()+" waking", func() bool { return e.get(d.GetId()).GetStatus() != statusIdle })
	if err := action(d.GetId()); err != nil {
		e.t.Fatal(err)
	}
	if a := <-held; a.status != 503 || !strings.Contains(a.body, want) {
		e.t.Errorf("request held through %q: %+v", want, a)
	}
}

func countContaining(list []string, s string) int {
	n := 0
	for _, x := range list {
		if strings.Contains(x, s) {
			n++
		}
	}
	return n
}
