package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestNativeModuleBuildsOffline deploys examples/sqlite-notes, which
// depends on better-sqlite3: prebuild-install cannot fetch a prebuilt
// binary from GitHub here, so node-gyp compiles it from source, with the
// installed Node's headers rather than a download from nodejs.org (which
// this host cannot reach either). The app then writes and reads its
// database in $DATA_DIR, which outlives a redeploy.
func TestNativeModuleBuildsOffline(t *testing.T) {
	// Compiling SQLite takes a minute or two on one core (the default
	// per-sandbox CPU limit); the default build timeout is 5m.
	const buildTimeout = 10 * time.Minute
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.BuildTimeout = buildTimeout }})
	started := time.Now()
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "sqlite-notes", Files: example(t, "sqlite-notes")})
	d = e.waitFor(d.GetId(), statusRunning, buildTimeout+time.Minute)
	t.Logf("built and running in %s", time.Since(started).Round(time.Second))

	logText := e.logText(d.GetId())
	for _, download := range []string{"gyp http GET", "nodejs.org"} {
		if strings.Contains(logText, download) {
			t.Errorf("the build tried to download Node's headers (log has %q):\n%s", download, logText)
		}
	}

	first := e.fetchJSON(d, "/")
	if first["binding"] != "compiled" {
		t.Errorf("better-sqlite3's binding is %v, want compiled from source in the build sandbox", first["binding"])
	}
	second := e.fetchJSON(d, "/")
	n1, _ := first["notes"].(float64)
	n2, _ := second["notes"].(float64)
	if n1 < 1 || n2 != n1+1 {
		t.Errorf("notes after two requests: %v then %v, want the count to go up by one", first["notes"], second["notes"])
	}

	// A redeploy reuses the compiled node_modules and finds the database
	// it left in the data dir.
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatalf("Redeploy: %v", err)
	}
	for deadline := time.Now().Add(time.Minute); d.GetRevision() < 2 || d.GetStatus() != statusRunning; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a minute after the redeploy: revision %d %v (%s)", d.GetRevision(), d.GetStatus(), d.GetStatusReason())
		}
		d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	}
	if events := strings.Join(e.events(d.GetId()), "\n"); !strings.Contains(events, "dependencies unchanged: reusing cached node_modules") {
		t.Errorf("the redeploy compiled again:\n%s", events)
	}
	if got, _ := e.fetchJSON(d, "/")["notes"].(float64); got != n2+1 {
		t.Errorf("after the redeploy the app counts %v notes, want %v: the database in $DATA_DIR did not carry over", got, n2+1)
	}
}
