package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// preparedCgroups lists the cgroups (in the pids hierarchy) of the
// sandboxes prepared for deployment id's next wake: their names carry a
// "-w" run.
func preparedCgroups(t *testing.T, id string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/sys/fs/cgroup/pids/coderunner-*/" + id + "-v*-w*-r0")
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// TestWarmWake: a deployment that goes to sleep keeps a sandbox prepared
// (its cgroup holds bwrap's waiting processes; the app does not run); a
// configuration change while it sleeps replaces that sandbox with one
// for the new configuration; the wake runs the app in it, with the new
// value, and says so in the log; a delete leaves no sandbox behind.
func TestWarmWake(t *testing.T) {
	t.Parallel()
	e := newEngine(t, sqlite, testenv.Options{})
	zero := int32(0)
	app := `require("http").createServer((q, s) => s.end("greeting=" + process.env.GREETING)).listen(process.env.PORT, process.env.HOST)`
	d := e.create(&coderunnerv1.CreateDeploymentRequest{
		Name:  "warm",
		Files: []*coderunnerv1.SourceFile{{Path: "package.json", Content: []byte(`{"name":"warm"}`)}, {Path: "server.js", Content: []byte(app)}},
		Env:   map[string]string{"GREETING": "hello"},
		Autoscale: &coderunnerv1.AutoscalePolicy{MinReplicas: &zero, MaxReplicas: 1, TargetInflight: 50,
			IdleTimeout: durationpb.New(30 * time.Second)},
	})
	e.waitFor(d.GetId(), statusRunning, time.Minute)
	e.waitFor(d.GetId(), statusIdle, 70*time.Second)

	// The sandbox is prepared once the deployment is IDLE (a wake meanwhile
	// waits for it): its cgroup made, then bwrap's pid 1 put in it.
	var first []string
	waitUntil(t, 5*time.Second, "a sandbox prepared for the wake, its cgroup holding bwrap's waiting pid 1", func() bool {
		first = preparedCgroups(t, d.GetId())
		if len(first) != 1 {
			return false
		}
		procs, _ := os.ReadFile(filepath.Join(first[0], "cgroup.procs"))
		return len(strings.Fields(string(procs))) > 0
	})

	// Counted once Prepare has returned (network set up), a little after
	// the pid entered the cgroup.
	waitUntil(t, 5*time.Second, "coderunner_prepared_sandboxes 1 while asleep", func() bool {
		n, _ := metricValue(scrape(t, e.srv), "coderunner_prepared_sandboxes", nil)
		return n == 1
	})

	_, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Env: map[string]string{"GREETING": "bonjour"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"env"}},
	}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.get(d.GetId()).GetStatus(); got != statusIdle {
		t.Fatalf("after an update while asleep: %v, want still asleep", got)
	}
	second := preparedCgroups(t, d.GetId())
	if len(second) != 1 || second[0] == first[0] {
		t.Fatalf("prepared sandboxes after the update: %v (before: %v); want one new one", second, first)
	}
	if _, err := os.Stat(first[0]); !os.IsNotExist(err) {
		t.Errorf("the stale prepared sandbox's cgroup %s is still there (%v)", first[0], err)
	}

	if status, body := e.fetch(d, "/"); status != 200 || body != "greeting=bonjour" {
		t.Fatalf("the wake answered %d %q", status, body)
	}
	if logs := e.logText(d.GetId()); strings.Count(logs, "(in the sandbox prepared while it slept)") != 1 {
		t.Errorf("the wake's log does not say it used the prepared sandbox once:\n%s", logs)
	}
	if _, err := e.client.DeleteDeployment(context.Background(), withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob("/sys/fs/cgroup/pids/coderunner-*/" + d.GetId() + "-*"); len(left) != 0 {
		t.Errorf("cgroups left after the delete: %v", left)
	}
	if n, _ := metricValue(scrape(t, e.srv), "coderunner_prepared_sandboxes", nil); n != 0 {
		t.Errorf("coderunner_prepared_sandboxes = %v after the wake and the delete, want 0", n)
	}
}
