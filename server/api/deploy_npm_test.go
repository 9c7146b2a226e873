package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
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

	// A redeploy that installs again (package.json changed, so the cache
	// key did) builds beside the running revision, which keeps answering
	// until the new one is built.
	files := example(t, "express-app")
	for _, f := range files {
		if f.GetPath() == "package.json" {
			f.Content = bytes.Replace(f.Content, []byte("installed by CodeRunner's build phase."), []byte("installed by CodeRunner's build phase, again."), 1)
		}
	}
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: files}, e.token)); err != nil {
		t.Fatalf("Redeploy with new files: %v", err)
	}
	// Every request during the redeploy is answered: the old revision
	// serves while the new one builds and starts, and is stopped only after
	// routing has moved on and its requests have finished.
	servedWhileBuilding, failed := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status := e.get(d.GetId()).GetStatus()
		if status == statusRunning || time.Now().After(deadline) {
			break
		}
		code := e.request(d, "GET", "/", "")
		switch {
		case code != http.StatusOK:
			failed++
		case status == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_BUILDING:
			servedWhileBuilding++
		}
		time.Sleep(20 * time.Millisecond)
	}
	if failed > 0 {
		t.Errorf("%d requests during the redeploy were not answered 200", failed)
	}
	events = strings.Join(e.events(d.GetId()), "\n")
	if strings.Count(events, "running npm ci") != 2 {
		t.Fatalf("the redeploy with a changed package.json did not run npm ci:\n%s", events)
	}
	if servedWhileBuilding == 0 {
		t.Errorf("the app did not answer while its new revision was building")
	}
	d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	if got := e.fetchJSON(d, "/")["express"]; got != "4.21.2" || d.GetRevision() != 3 {
		t.Errorf("after the third revision the app reports express %v, revision %d", got, d.GetRevision())
	}

	// Stopping during such a build stops both revisions; starting again
	// builds and runs the new revision, not the old build still in place.
	for _, f := range files {
		switch f.GetPath() {
		case "package.json":
			f.Content = bytes.Replace(f.Content, []byte(", again."), []byte(", a third time."), 1)
		case "index.js":
			f.Content = bytes.Replace(f.Content, []byte(`app: "express-app"`), []byte(`app: "express-app, revision 4"`), 1)
		}
	}
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: files}, e.token)); err != nil {
		t.Fatalf("Redeploy with new files: %v", err)
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_BUILDING, time.Minute)
	if _, err := e.client.StopDeployment(context.Background(), withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatalf("Stop during the build: %v", err)
	}
	if got := e.get(d.GetId()).GetStatus(); got != statusStopped {
		t.Errorf("after Stop during the build: %v", got)
	}
	if status := e.request(d, "GET", "/", ""); status != http.StatusServiceUnavailable {
		t.Errorf("after Stop during the build the app answered %d, want 503 (both revisions stopped)", status)
	}
	if _, err := e.client.StartDeployment(context.Background(), withToken(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	// A change of replicas while that build runs is saved, and the run the
	// build leads to starts with it.
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_BUILDING, time.Minute)
	if _, err := e.client.UpdateDeployment(context.Background(), withToken(&coderunnerv1.UpdateDeploymentRequest{
		Id: d.GetId(), Replicas: 2, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"replicas"}},
	}, e.token)); err != nil {
		t.Fatalf("Update during the build: %v", err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 2*time.Minute)
	if got := e.fetchJSON(d, "/")["app"]; got != "express-app, revision 4" || d.GetRevision() != 4 {
		t.Errorf("started after the stopped build, the app says it is %q (revision %d); want revision 4's code", got, d.GetRevision())
	}
	startedSecond := strings.Contains(e.logText(d.GetId()), "replica 1 ready")
	if d.GetReplicas() != 2 || !startedSecond {
		t.Errorf("replicas %d, a second replica started: %v; want 2 after the update during the build", d.GetReplicas(), startedSecond)
	}
}
