package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// tarGz packs entries (name → content; a content of "->target" makes a
// symlink) into a .tar.gz.
func tarGz(t *testing.T, entries map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range entries {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			hdr = &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			_, _ = tw.Write([]byte(content))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// TestDeployArchive deploys a GitHub-style .tar.gz (one top-level folder)
// and refuses archives that try to escape the tree.
func TestDeployArchive(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	files := map[string]string{}
	for _, f := range example(t, "node-hello") {
		files["node-hello-main/"+f.GetPath()] = string(f.GetContent())
	}
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "from-archive", Archive: tarGz(t, files)})
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if got := e.fetchJSON(d, "/")["message"]; got != "Hello from CodeRunner" {
		t.Errorf("app says %v", got)
	}

	for name, entries := range map[string]map[string]string{
		"dot-dot path":     {"package.json": `{}`, "../evil.js": "x"},
		"escaping symlink": {"package.json": `{}`, "index.js": "->../../etc/passwd"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.client.CreateDeployment(context.Background(), withToken(&coderunnerv1.CreateDeploymentRequest{Name: "evil", Archive: tarGz(t, entries)}, e.token))
			cerr := wantCode(t, err, connect.CodeInvalidArgument)
			if got := violations(t, cerr); !contains(got, "archive:valid") {
				t.Errorf("violations %v, want archive", got)
			}
		})
	}
}

// TestBuildTimeout: a build that outlives the build timeout fails with a
// reason that says so.
func TestBuildTimeout(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.BuildTimeout = 300 * time.Millisecond }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "slow-build", Files: example(t, "express-app")})
	d = e.waitFor(d.GetId(), statusFailed, time.Minute)
	if !strings.Contains(d.GetStatusReason(), "build timed out after 300ms (npm ci") {
		t.Errorf("reason = %q", d.GetStatusReason())
	}
}

// TestReplicas scales to two replicas in place: the running replica
// keeps serving (no restart), the new one is routed to once ready, the
// change is an event, and the router spreads requests over both.
func TestReplicas(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("scaled")
	first := e.fetchJSON(d, "/whoami")["pid"]
	if _, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Replicas: 2, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"replicas"}},
	}, e.token)); err != nil {
		t.Fatal(err)
	}
	e.waitReady(d.GetId(), 2)
	seen := map[any]bool{}
	pids := map[any]bool{}
	for i := 0; i < 6; i++ {
		who := e.fetchJSON(d, "/whoami")
		seen[who["instance"]], pids[who["pid"]] = true, true
	}
	if len(seen) != 2 {
		t.Errorf("requests reached %d distinct replicas, want 2", len(seen))
	}
	if !pids[first] {
		t.Errorf("the first replica (pid %v) was restarted to scale: pids %v", first, pids)
	}
	if !slices.Contains(e.events(d.GetId()), "RUNNING: scaled 1 → 2: replicas set by owner") {
		t.Errorf("events: %v", e.events(d.GetId()))
	}
}

// waitReady waits until deployment id has n replicas ready and routed.
func (e *engine) waitReady(id string, n int32) *coderunnerv1.Deployment {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d := e.get(id)
		if d.GetReadyReplicas() == n && d.GetReplicas() == n {
			return d
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s has %d of %d replicas ready, want %d", d.GetName(), d.GetReadyReplicas(), d.GetReplicas(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestScaleDownDrains: scaling 3 → 1 stops routing to two replicas, lets
// them answer the slow requests they hold, then stops them; no request
// fails.
func TestScaleDownDrains(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "drained", Files: readDir(t, "testdata/probe"), Replicas: 3})
	e.waitReady(d.GetId(), 3)
	d = e.get(d.GetId())
	stop := e.watchAvailability(d.GetUrl())
	slow := make(chan int, 6)
	for range 6 {
		go func() {
			status, _ := e.fetch(d, "/status?ms=1500")
			slow <- status
		}()
	}
	time.Sleep(300 * time.Millisecond) // the slow requests are in the replicas
	if _, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Replicas: 1, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"replicas"}},
	}, e.token)); err != nil {
		t.Fatal(err)
	}
	e.waitReady(d.GetId(), 1)
	for range 6 {
		if status := <-slow; status != 200 {
			t.Errorf("a slow request held by a drained replica got %d", status)
		}
	}
	if bad := failed(stop()); len(bad) > 0 {
		t.Errorf("%d requests failed while scaling down, first %v", len(bad), bad[0])
	}
	if logs := e.logText(d.GetId()); strings.Contains(logs, "still open") {
		t.Errorf("a replica was stopped with requests open:\n%s", logs)
	}
}

// TestDiskQuota: a deployment that writes more than its disk quota into its
// dirs is stopped and FAILED with a reason.
func TestDiskQuota(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.SandboxDiskMiB = 2 }})
	d := e.runProbe("filler")
	if res := e.fetchJSON(d, "/fill?path=/data/big&mb=3"); res["ok"] != true {
		t.Fatalf("fill: %v", res)
	}
	d = e.waitFor(d.GetId(), statusFailed, 15*time.Second)
	if !strings.Contains(d.GetStatusReason(), "disk quota exceeded") || !strings.Contains(d.GetStatusReason(), "the limit is 2 MiB") {
		t.Errorf("reason = %q", d.GetStatusReason())
	}
}

// TestStartCommands covers how an app is started: an npm start script that
// is not a plain `node <file>` runs through npm; an app whose /health
// answers 500 never becomes ready.
func TestStartCommands(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.ReadyTimeout = 3 * time.Second }})
	server := `require("http").createServer((req, res) => {
  if (req.url === "/health") { res.statusCode = Number(process.env.HEALTH_STATUS || 200); return res.end("health"); }
  res.end("started by " + (process.env.npm_lifecycle_event || "node"));
}).listen(process.env.PORT, process.env.HOST);`

	viaNpm := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "via-npm", Files: []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"via-npm","scripts":{"start":"node lib/server.js --flag"}}`)},
		{Path: "lib/server.js", Content: []byte(server)},
	}})
	viaNpm = e.waitFor(viaNpm.GetId(), statusRunning, 30*time.Second)
	if status, body := e.fetch(viaNpm, "/"); status != 200 || body != "started by start" {
		t.Errorf("npm start app = %d %q", status, body)
	}

	unhealthy := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "unhealthy", Env: map[string]string{"HEALTH_STATUS": "500"}, Files: []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"unhealthy"}`)},
		{Path: "server.js", Content: []byte(server)},
	}})
	unhealthy = e.waitFor(unhealthy.GetId(), statusFailed, 30*time.Second)
	if !strings.Contains(unhealthy.GetStatusReason(), "GET /health still answered 500 after 3s") {
		t.Errorf("reason = %q", unhealthy.GetStatusReason())
	}
}
