package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestExpressWithDependencies installs real dependencies from the npm
// registry with npm ci, serves the app, and shows that a redeploy with the
// same lockfile reuses the cached node_modules instead of installing again.
func TestExpressWithDependencies(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "express", Files: example(t, "express-app")})
	d = e.waitFor(d.GetId(), statusRunning, 3*time.Minute)
	if got := e.fetchJSON(d, "/")["express"]; got != "4.21.2" {
		t.Errorf("app reports express %v, want the locked 4.21.2", got)
	}
	events := strings.Join(e.events(d.GetId()), "\n")
	if !strings.Contains(events, "BUILDING: running npm ci --omit=dev") {
		t.Errorf("first deploy did not run npm ci:\n%s", events)
	}

	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatalf("Redeploy: %v", err)
	}
	d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	events = strings.Join(e.events(d.GetId()), "\n")
	if strings.Count(events, "running npm ci") != 1 || !strings.Contains(events, "dependencies unchanged: reusing cached node_modules") {
		t.Errorf("redeploy installed again:\n%s", events)
	}
	if got := e.fetchJSON(d, "/")["express"]; got != "4.21.2" {
		t.Errorf("after redeploy the app reports express %v", got)
	}
}
