package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// getInBackground GETs url through the router and sends the status it
// answered, or 0 if the request failed.
func (e *engine) getInBackground(url string) <-chan int {
	status := make(chan int, 1)
	go func() {
		res, err := e.appClient().Get(url)
		if err != nil {
			status <- 0
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		status <- res.StatusCode
	}()
	return status
}

// TestRedeployDrainsTheOldRevision: a request the running revision is
// still answering when a redeploy routes to the new one gets its answer,
// however long it takes (within redeployDrainMax): the old revision is
// stopped once its last request is answered.
func TestRedeployDrainsTheOldRevision(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("drain")
	u, _ := url.Parse(d.GetUrl())
	slow := e.getInBackground("http://" + u.Host + "/status?code=200&ms=5000")
	time.Sleep(100 * time.Millisecond) // the slow request is with the old replica
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if d.GetRevision() != 2 {
		t.Errorf("revision %d, want 2", d.GetRevision())
	}
	if code := <-slow; code != http.StatusOK {
		t.Errorf("the request the old revision was answering got %d, want 200", code)
	}
	// The old revision stops soon after its last answer.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(e.logText(d.GetId()), "previous revision: answered its last request") {
		if time.Now().After(deadline) {
			t.Fatalf("the log does not say the old revision drained:\n%s", e.logText(d.GetId()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedeployStatusBelongsToTheNewRevision: while a redeploy's new
// revision starts, the old revision still serves and is still supervised.
// A crash of the old revision then is restarted and logged, but does not
// write its RUNNING or FAILED over the new revision's progress.
func TestRedeployStatusBelongsToTheNewRevision(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.CrashBackoff = 20 * time.Millisecond }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{
		Name:   "handover",
		Files:  readDir(t, "testdata/probe"),
		Limits: &coderunnerv1.ResourceLimits{MemoryBytes: 96 << 20},
	})
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	// The new revision takes 3 s to listen, long enough to crash the old
	// one meanwhile.
	slowStart := []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"slow","main":"index.js"}`)},
		{Path: "index.js", Content: []byte(`setTimeout(() => require("node:http").createServer((q, s) => q.url === "/exit" ? process.exit(1) : s.end("v2")).listen(process.env.PORT, process.env.HOST), 3000);`)},
	}
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: slowStart}, e.token)); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(d.GetUrl())
	if res, err := e.appClient().Get("http://" + u.Host + "/hold?mb=200"); err == nil {
		res.Body.Close() // the old replica is killed mid-answer: an error or a 502
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if d.GetRevision() != 2 {
		t.Fatalf("revision %d, want 2", d.GetRevision())
	}
	if status, body := e.fetch(d, "/"); status != 200 || body != "v2" {
		t.Errorf("GET / = %d %q, want the new revision", status, body)
	}
	events := e.events(d.GetId())
	redeploy := slices.Index(events, "PENDING: redeploy requested")
	if redeploy < 0 {
		t.Fatalf("no redeploy event:\n%s", strings.Join(events, "\n"))
	}
	for _, ev := range events[redeploy+1 : len(events)-1] {
		if strings.HasPrefix(ev, "RUNNING") || strings.HasPrefix(ev, "FAILED") {
			t.Errorf("the old revision wrote %q during the redeploy:\n%s", ev, strings.Join(events, "\n"))
		}
	}
	if last := events[len(events)-1]; !strings.HasPrefix(last, "RUNNING: ready after") {
		t.Errorf("last event %q, want the new revision's RUNNING", last)
	}
	// The old revision's crash is still on record, in the log.
	logs := e.logText(d.GetId())
	if !strings.Contains(logs, "previous revision: out of memory") {
		t.Errorf("the log does not tell of the old revision's crash:\n%s", logs)
	}
	// Both revisions' crashes count: the old one's during the switch, and
	// one of the new revision now.
	if res, err := e.appClient().Get("http://" + u.Host + "/exit"); err == nil {
		res.Body.Close()
	}
	for deadline := time.Now().Add(15 * time.Second); e.get(d.GetId()).GetRestartCount() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("restart_count %d after a crash of each revision, want 2", e.get(d.GetId()).GetRestartCount())
		}
	}
}

// TestRedeployDrainEndsWhenTheNewRevisionExits: the new revision's
// replicas are supervised only after the handover, so a drain waiting on
// a long request to the old revision ends early when a new replica exits,
// and the crash is restarted at once rather than after the drain.
func TestRedeployDrainEndsWhenTheNewRevisionExits(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.CrashBackoff = 20 * time.Millisecond }})
	d := e.runProbe("shortlived")
	u, _ := url.Parse(d.GetUrl())
	// Open far longer than the test: only the early end stops the drain.
	e.getInBackground("http://" + u.Host + "/status?code=200&ms=60000")
	time.Sleep(100 * time.Millisecond)
	exitsSoon := []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"exits","main":"index.js"}`)},
		{Path: "index.js", Content: []byte(`require("node:http").createServer((q, s) => s.end("v2")).listen(process.env.PORT, process.env.HOST); setTimeout(() => process.exit(3), 1000);`)},
	}
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: exitsSoon}, e.token)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		events := strings.Join(e.events(d.GetId()), "\n")
		if strings.Contains(events, "replica 0 exited with code 3; restarting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new revision's exit was not restarted within 15 s:\n%s", events)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if logs := e.logText(d.GetId()); !strings.Contains(logs, "previous revision: stopping with 1 request still open: a new replica exited") {
		t.Errorf("the log does not say why the drain ended:\n%s", logs)
	}
}

// TestRedeployDrainTimeout: a request the old revision has not answered
// within --drain-timeout is cut, and the log says so.
func TestRedeployDrainTimeout(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.DrainTimeout = time.Second }})
	d := e.runProbe("cut")
	u, _ := url.Parse(d.GetUrl())
	slow := e.getInBackground("http://" + u.Host + "/status?code=200&ms=20000")
	time.Sleep(100 * time.Millisecond)
	redeployed := time.Now()
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if code := <-slow; code == http.StatusOK {
		t.Errorf("a 20 s request outlived a 1 s drain")
	}
	if waited := time.Since(redeployed); waited > 10*time.Second {
		t.Errorf("the old revision answered for %s after the redeploy, want about 1 s", waited)
	}
	if logs := e.logText(d.GetId()); !strings.Contains(logs, "previous revision: stopping with 1 request still open 1s after the switch") {
		t.Errorf("the log does not say the drain timed out:\n%s", logs)
	}
}

// TestRestartAndUpdateWithoutDowntime: restarting a running deployment or
// changing its configuration starts new replicas beside the running ones,
// routes to them once ready and drains the old ones, so no request fails:
// not those sent meanwhile, nor one the old replica was answering.
func TestRestartAndUpdateWithoutDowntime(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("rolling")
	u, _ := url.Parse(d.GetUrl())
	base := "http://" + u.Host

	stop := e.watchAvailability(base + "/")
	instance := func() string { return e.fetchJSON(d, "/whoami")["instance"].(string) }
	first := instance()
	slow := e.getInBackground(base + "/status?code=200&ms=1500")
	time.Sleep(100 * time.Millisecond)
	if _, err := e.client.RestartDeployment(context.Background(), withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	second := instance()
	if second == first {
		t.Error("after Restart the same process answers")
	}
	if code := <-slow; code != http.StatusOK {
		t.Errorf("the request the old replica was answering during Restart got %d", code)
	}

	if _, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Env: map[string]string{"ROLLING": "yes"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"env"}},
	}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if env := e.fetchJSON(d, "/env"); env["ROLLING"] != "yes" {
		t.Errorf("after Update the app's environment lacks ROLLING=yes: %v", env)
	}
	if instance() == second {
		t.Error("after Update the same process answers")
	}
	if failures := failed(stop()); len(failures) > 0 {
		t.Errorf("%d requests failed during Restart and Update, first: %s", len(failures), failures[0].what)
	}
	events := e.events(d.GetId())
	for _, want := range []string{"PENDING: restart requested", "PENDING: configuration changed; restarting"} {
		if !slices.Contains(events, want) {
			t.Errorf("no event %q:\n%s", want, strings.Join(events, "\n"))
		}
	}
}

// TestNewerActionEndsTheDrain: a restart while the previous restart still
// drains a long request ends that drain (the request is cut) instead of
// waiting for it, and the newer restart goes ahead.
func TestNewerActionEndsTheDrain(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("superseded")
	u, _ := url.Parse(d.GetUrl())
	slow := e.getInBackground("http://" + u.Host + "/status?code=200&ms=20000")
	time.Sleep(100 * time.Millisecond)
	restart := func() {
		t.Helper()
		if _, err := e.client.RestartDeployment(context.Background(), withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
			t.Fatal(err)
		}
		e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	}
	restart() // its handover waits for the slow request
	began := time.Now()
	restart()
	select {
	case code := <-slow:
		if code == http.StatusOK {
			t.Error("the slow request was answered; want it cut by the newer restart")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request is still open 10 s after the newer restart")
	}
	if waited := time.Since(began); waited > 10*time.Second {
		t.Errorf("the newer restart took %s", waited)
	}
	if logs := e.logText(d.GetId()); !strings.Contains(logs, "previous revision: stopping with 1 request still open: a newer action replaces this one") {
		t.Errorf("the log does not say why the drain ended:\n%s", logs)
	}
}

// TestFailedReplacementKeepsServing: a redeploy whose new revision fails
// to start or to build leaves the running revision serving, as on
// Railway or Render: the deployment stays RUNNING with a reason naming
// the failure, names the running revision's source again (so a restart
// restarts what serves), and the failed source is removed. No request
// fails meanwhile, and the revision that serves on answers to Stop.
func TestFailedReplacementKeepsServing(t *testing.T) {
	dir := testenv.DataDir(t)
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.DataDir = dir }})
	d := e.runProbe("steady")
	original := d.GetSourceDigest()
	instance := func() any { return e.fetchJSON(d, "/whoami")["instance"] }
	first := instance()
	u, _ := url.Parse(d.GetUrl())
	stop := e.watchAvailability("http://" + u.Host + "/")

	for _, c := range []struct {
		name   string
		files  []*coderunnerv1.SourceFile
		reason string
	}{
		{"crashes at start", []*coderunnerv1.SourceFile{
			{Path: "package.json", Content: []byte(`{"name":"broken","main":"index.js"}`)},
			{Path: "index.js", Content: []byte(`throw new Error("broken on purpose");`)},
		}, "broken on purpose"},
		{"build fails", localDepApp("unbuildable", "exit 3", `require("local");`), "build failed"},
	} {
		// The serving revision prints while the new one fails: the
		// failure's reason quotes the new revision's output, not this.
		e.fetchJSON(d, "/tick?n=400&rate=200&tag=serving-revision-line")
		res, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: c.files}, e.token))
		if err != nil {
			t.Fatal(err)
		}
		failedSource := res.Msg.GetDeployment().GetSourceDigest()
		got := e.waitFor(d.GetId(), statusRunning, time.Minute)
		if !strings.Contains(got.GetStatusReason(), c.reason) || !strings.Contains(got.GetStatusReason(), "revision 1 serves on") {
			t.Errorf("%s: reason %q, want the failure and that revision 1 serves on", c.name, got.GetStatusReason())
		}
		if strings.Contains(got.GetStatusReason(), "serving-revision-line") {
			t.Errorf("%s: the reason quotes the serving revision's output:\n%s", c.name, got.GetStatusReason())
		}
		if !got.GetReplacementFailed() {
			t.Errorf("%s: replacement_failed is not set", c.name)
		}
		if got.GetRevision() != 1 || got.GetSourceDigest() != original {
			t.Errorf("%s: revision %d source %s, want revision 1's %s", c.name, got.GetRevision(), got.GetSourceDigest(), original)
		}
		if instance() != first {
			t.Errorf("%s: another process answers; want the one that served before", c.name)
		}
		for deadline := time.Now().Add(5 * time.Second); sourceStored(t, dir, failedSource); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("%s: the failed source is still stored", c.name)
				break
			}
		}
		if !sourceStored(t, dir, original) {
			t.Fatalf("%s: the source of the revision that serves on was removed", c.name)
		}
	}

	// A restart restarts what serves.
	if _, err := e.client.RestartDeployment(context.Background(), withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if !strings.HasPrefix(d.GetStatusReason(), "ready after") || instance() == first || d.GetReplacementFailed() {
		t.Errorf("after Restart: reason %q, same process %v, replacement_failed %v; want revision 1 started anew", d.GetStatusReason(), instance() == first, d.GetReplacementFailed())
	}

	// A configuration change the app cannot start with (too little memory)
	// leaves the running replica serving too; the saved configuration
	// stays, to apply at the next restart.
	serving := instance()
	if _, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Limits: &coderunnerv1.ResourceLimits{MemoryBytes: 4 << 20}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"limits"}},
	}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if !strings.Contains(d.GetStatusReason(), "revision 1 serves on") || instance() != serving {
		t.Errorf("after an update the app cannot start with: reason %q, same process %v; want the running one serving on", d.GetStatusReason(), instance() == serving)
	}
	if got := d.GetLimits().GetMemoryBytes(); got != 4<<20 {
		t.Errorf("memory limit %d after the update, want the saved 4 MiB", got)
	}
	if failures := failed(stop()); len(failures) > 0 {
		t.Errorf("%d requests failed while the new revisions failed, first: %s", len(failures), failures[0].what)
	}

	// The revision that served on is the deployment's again: Stop stops it.
	if _, err := e.client.StopDeployment(context.Background(), withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if status, _ := e.fetch(d, "/"); status != http.StatusServiceUnavailable {
		t.Errorf("after Stop the URL answers %d, want 503", status)
	}
}
