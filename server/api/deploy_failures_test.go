package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

var sqlite = testenv.Database{Name: "sqlite"}

// TestCrashLoop: an app that keeps crashing is restarted with back-off and
// then marked FAILED with its exit code and last lines.
func TestCrashLoop(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.CrashBackoff = 20 * time.Millisecond }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "crashy", Files: example(t, "crash-app"), Env: map[string]string{"CRASH_AFTER_MS": "500"}})
	d = e.waitFor(d.GetId(), statusFailed, 60*time.Second)
	for _, want := range []string{"crash loop", "exited with code 3", "fatal: simulated crash"} {
		if !strings.Contains(d.GetStatusReason(), want) {
			t.Errorf("reason %q lacks %q", d.GetStatusReason(), want)
		}
	}
	if d.GetRestartCount() < 5 {
		t.Errorf("restart_count = %d, want at least 5", d.GetRestartCount())
	}
	events := strings.Join(e.events(d.GetId()), "\n")
	if !strings.Contains(events, "restarting in 20ms") || !strings.Contains(events, "restarting in 40ms") {
		t.Errorf("events do not show the back-off doubling:\n%s", events)
	}
	status, body := e.fetch(d, "/")
	if status != 503 || !strings.Contains(body, "failed: crash loop") {
		t.Errorf("failed app URL = %d %s", status, body)
	}
}

// TestNeverListens: an app that never opens its port fails readiness with
// its last log lines in the reason.
func TestNeverListens(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.ReadyTimeout = 2 * time.Second }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "deaf", Files: example(t, "never-listens")})
	d = e.waitFor(d.GetId(), statusFailed, 30*time.Second)
	for _, want := range []string{"did not accept connections on port 3000 within 2s", "forgot to listen"} {
		if !strings.Contains(d.GetStatusReason(), want) {
			t.Errorf("reason %q lacks %q", d.GetStatusReason(), want)
		}
	}
}

// TestExitsBeforeListening: a start command that fails at once is FAILED
// with the exit code and output.
func TestExitsBeforeListening(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "typo", Files: []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"typo"}`)},
		{Path: "index.js", Content: []byte(`require("./missing-module");`)},
	}})
	d = e.waitFor(d.GetId(), statusFailed, 30*time.Second)
	for _, want := range []string{"exited with code 1 before listening", "Cannot find module './missing-module'"} {
		if !strings.Contains(d.GetStatusReason(), want) {
			t.Errorf("reason %q lacks %q", d.GetStatusReason(), want)
		}
	}
}

// TestMemoryLimit: going over the memory limit kills the app and says so.
func TestMemoryLimit(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.CrashBackoff = 20 * time.Millisecond }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{
		Name:   "hog",
		Files:  example(t, "memory-hog"),
		Limits: &coderunnerv1.ResourceLimits{MemoryBytes: 96 << 20},
	})
	d = e.waitFor(d.GetId(), statusFailed, 60*time.Second)
	if !strings.Contains(d.GetStatusReason(), "ran out of memory (limit 96 MiB)") {
		t.Errorf("reason = %q", d.GetStatusReason())
	}
	if events := strings.Join(e.events(d.GetId()), "\n"); !strings.Contains(events, "out of memory (limit 96 MiB)") {
		t.Errorf("events do not name the OOM kill:\n%s", events)
	}
}

// TestBuildFailure: an npm install that fails marks the deployment FAILED
// with npm's own output.
func TestBuildFailure(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "badeps", Files: []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"badeps","dependencies":{"coderunner-no-such-package-7f3a9c":"1.0.0"}}`)},
		{Path: "index.js", Content: []byte(`require("http").createServer().listen(process.env.PORT)`)},
	}})
	d = e.waitFor(d.GetId(), statusFailed, 120*time.Second)
	if !strings.Contains(d.GetStatusReason(), "build failed: npm install") || !strings.Contains(d.GetStatusReason(), "404") {
		t.Errorf("reason = %q", d.GetStatusReason())
	}
}

// TestDeploymentBadInput covers what CreateDeployment must refuse before
// writing anything.
func TestDeploymentBadInput(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.MaxDeploymentsPerUser = 2 }})
	ctx := context.Background()
	create := func(req *coderunnerv1.CreateDeploymentRequest) error {
		_, err := e.client.CreateDeployment(ctx, withToken(req, e.token))
		return err
	}
	sources := filepath.Join(e.srv.Config.DataDir, "sources")
	countSources := func() int {
		n := 0
		_ = filepath.WalkDir(sources, func(_ string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				n++
			}
			return nil
		})
		return n
	}

	err := create(&coderunnerv1.CreateDeploymentRequest{Name: "nothing", Files: []*coderunnerv1.SourceFile{{Path: "README.md", Content: []byte("hi")}}})
	wantCode(t, err, connect.CodeInvalidArgument, "package.json", "manifest.yaml")
	err = create(&coderunnerv1.CreateDeploymentRequest{Name: "dupes", Files: []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{}`)}, {Path: "package.json", Content: []byte(`{}`)},
	}})
	wantCode(t, err, connect.CodeInvalidArgument, "package.json")
	err = create(&coderunnerv1.CreateDeploymentRequest{Name: "junk", Archive: []byte("this is not an archive")})
	wantCode(t, err, connect.CodeInvalidArgument)
	err = create(&coderunnerv1.CreateDeploymentRequest{Name: "nostart", Files: []*coderunnerv1.SourceFile{{Path: "package.json", Content: []byte(`{"name":"x"}`)}}})
	wantCode(t, err, connect.CodeInvalidArgument, "start")
	if n := countSources(); n != 0 {
		t.Errorf("rejected requests stored %d source files", n)
	}

	// Quota, and names unique per owner.
	e.create(&coderunnerv1.CreateDeploymentRequest{Name: "one", Files: example(t, "node-hello")})
	err = create(&coderunnerv1.CreateDeploymentRequest{Name: "one", Files: example(t, "node-hello")})
	wantCode(t, err, connect.CodeAlreadyExists, `"one"`)
	e.create(&coderunnerv1.CreateDeploymentRequest{Name: "two", Files: example(t, "node-hello")})
	err = create(&coderunnerv1.CreateDeploymentRequest{Name: "three", Files: example(t, "node-hello")})
	wantCode(t, err, connect.CodeResourceExhausted, "delete one first")

	_, err = e.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{PageToken: "garbage!"}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument, "page_token")
}

// TestOwnership: another user's deployment is NotFound everywhere.
func TestOwnership(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	ctx := context.Background()
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "mine", Files: example(t, "node-hello")})
	other, _ := signUp(t, e.auth)
	id := d.GetId()
	for name, call := range map[string]func() error{
		"get": func() error {
			_, err := e.client.GetDeployment(ctx, withToken(&coderunnerv1.GetDeploymentRequest{Id: id}, other))
			return err
		},
		"stop": func() error {
			_, err := e.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: id}, other))
			return err
		},
		"start": func() error {
			_, err := e.client.StartDeployment(ctx, withToken(&coderunnerv1.StartDeploymentRequest{Id: id}, other))
			return err
		},
		"restart": func() error {
			_, err := e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: id}, other))
			return err
		},
		"redeploy": func() error {
			_, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: id}, other))
			return err
		},
		"delete": func() error {
			_, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: id}, other))
			return err
		},
		"events": func() error {
			_, err := e.client.ListDeploymentEvents(ctx, withToken(&coderunnerv1.ListDeploymentEventsRequest{DeploymentId: id}, other))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), connect.CodeNotFound, "not found") })
	}
	list, err := e.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{}, other))
	if err != nil || len(list.Msg.GetDeployments()) != 0 {
		t.Errorf("other user lists %v (%v)", list.Msg.GetDeployments(), err)
	}
	e.waitFor(id, statusRunning, 30*time.Second)
}
