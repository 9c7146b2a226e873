package api_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// versionedApp is a Node.js app with a dependency to install, answering
// with its version, its MODE env var and its API_TOKEN secret. Each
// version's package.json differs, so each has a build of its own.
func versionedApp(version string) []*coderunnerv1.SourceFile {
	return localDepApp("versioned-"+version, "true", `require("node:http").createServer((q, s) =>
  s.end("`+version+` mode=" + process.env.MODE + " token=" + process.env.API_TOKEN)).listen(process.env.PORT, process.env.HOST);`)
}

func (e *engine) releases(id string) []*coderunnerv1.Release {
	e.t.Helper()
	res, err := e.client.ListReleases(context.Background(), withToken(&coderunnerv1.ListReleasesRequest{DeploymentId: id}, e.token))
	if err != nil {
		e.t.Fatalf("ListReleases: %v", err)
	}
	return res.Msg.GetReleases()
}

func (e *engine) rollback(id string, release int64) (*coderunnerv1.Deployment, error) {
	res, err := e.client.RollbackDeployment(context.Background(), withToken(&coderunnerv1.RollbackDeploymentRequest{DeploymentId: id, Release: release}, e.token))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetDeployment(), nil
}

func (e *engine) redeploy(id string, files []*coderunnerv1.SourceFile) {
	e.t.Helper()
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: id, Files: files}, e.token)); err != nil {
		e.t.Fatalf("RedeployDeployment: %v", err)
	}
}

// waitForBody GETs path of d until it answers 200 with want.
func (e *engine) waitForBody(d *coderunnerv1.Deployment, want string) {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, body := e.fetch(d, "/")
		if status == 200 && body == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s answers %d %q, want %q; events:\n%s", d.GetName(), status, body, want, strings.Join(e.events(d.GetId()), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// summary is "number kind description" of each release, newest first.
func summary(list []*coderunnerv1.Release) []string {
	var out []string
	for _, r := range list {
		out = append(out, fmt.Sprintf("%d %s %s", r.GetNumber(), strings.TrimPrefix(r.GetKind().String(), "RELEASE_KIND_"), r.GetDescription()))
	}
	return out
}

// Every deploy, redeploy and config change is a release; rolling back runs
// an old release's exact source, env and secret versions as a new release,
// without downtime and without installing dependencies again.
func TestRollbackRunsTheOldRelease(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testRollbackRunsTheOldRelease(t, db) })
	}
}

func testRollbackRunsTheOldRelease(t *testing.T, db testenv.Database) {
	e := newEngine(t, db, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "versioned", Files: versionedApp("v1"), Env: map[string]string{"MODE": "one"}})
	e.waitForBody(d, "v1 mode=one token=undefined")
	// The replica answers from the moment it is routed, just before RUNNING
	// is recorded; a configuration change is refused until then.
	e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	e.setSecret(d.GetId(), "API_TOKEN", "first-token")
	e.waitForBody(d, "v1 mode=one token=first-token")
	e.redeploy(d.GetId(), versionedApp("v2"))
	e.waitForBody(d, "v2 mode=one token=first-token")
	// The new revision answers from the moment it is routed, just before
	// the deployment is recorded RUNNING; configuration waits for that.
	e.waitFor(d.GetId(), statusRunning, time.Minute)
	e.setSecret(d.GetId(), "API_TOKEN", "second-token")
	e.waitForBody(d, "v2 mode=one token=second-token")

	list := e.releases(d.GetId())
	if got := summary(list); len(got) != 4 || !strings.HasPrefix(got[0], "4 CONFIG") || !strings.HasPrefix(got[1], "3 REDEPLOY") ||
		!strings.HasPrefix(got[2], "2 CONFIG") || !strings.HasPrefix(got[3], "1 DEPLOY") {
		t.Fatalf("releases = %q, want config, redeploy, config, deploy", got)
	}
	two := list[2]
	if !list[0].GetCurrent() || list[0].GetRollbackAvailable() || two.GetCurrent() || !two.GetRollbackAvailable() {
		t.Errorf("current/rollback_available: 4 = %v/%v, 2 = %v/%v", list[0].GetCurrent(), list[0].GetRollbackAvailable(), two.GetCurrent(), two.GetRollbackAvailable())
	}
	if two.GetSecretVersions()["API_TOKEN"] != 1 || list[0].GetSecretVersions()["API_TOKEN"] != 2 || two.GetEnv()["MODE"] != "one" {
		t.Errorf("release 2 runs secrets %v env %v, release 4 secrets %v", two.GetSecretVersions(), two.GetEnv(), list[0].GetSecretVersions())
	}
	if two.GetBuildKey() == "" || two.GetBuildKey() == list[0].GetBuildKey() || two.GetSourceDigest() == list[0].GetSourceDigest() || two.GetCreatedBy() == "" || !strings.Contains(two.GetDescription(), "API_TOKEN") {
		t.Errorf("release 2 = %v", two)
	}

	u, _ := url.Parse(d.GetUrl())
	stop := e.watchAvailability("http://" + u.Host + "/")
	rolled, err := e.rollback(d.GetId(), 2)
	if err != nil {
		t.Fatalf("RollbackDeployment: %v", err)
	}
	if rolled.GetRelease() != 5 {
		t.Errorf("the rollback's deployment is at release %d, want 5", rolled.GetRelease())
	}
	e.waitForBody(d, "v1 mode=one token=first-token")
	if bad := failed(stop()); len(bad) > 0 {
		t.Errorf("%d requests failed during the rollback, first %v", len(bad), bad[0])
	}
	events := strings.Join(e.events(d.GetId()), "\n")
	if last := events[strings.LastIndex(events, "rollback to release 2"):]; !strings.Contains(last, "reusing cached node_modules") || strings.Contains(last, "running npm install") {
		t.Errorf("the rollback's build did not reuse the kept node_modules:\n%s", last)
	}

	list = e.releases(d.GetId())
	five := list[0]
	if five.GetNumber() != 5 || five.GetKind() != coderunnerv1.ReleaseKind_RELEASE_KIND_ROLLBACK || five.GetRollbackOf() != 2 || !five.GetCurrent() {
		t.Errorf("release 5 = %v", five)
	}
	if five.GetSourceDigest() != two.GetSourceDigest() || five.GetConfigVersion() != two.GetConfigVersion() || five.GetBuildKey() != two.GetBuildKey() {
		t.Errorf("release 5 runs %s/%s/%s, release 2 %s/%s/%s", five.GetSourceDigest(), five.GetConfigVersion(), five.GetBuildKey(),
			two.GetSourceDigest(), two.GetConfigVersion(), two.GetBuildKey())
	}
	// The restored secret is version 1 again; setting it anew is version 3
	// and a release of its own.
	if v := e.setSecret(d.GetId(), "API_TOKEN", "third-token").GetVersion(); v != 3 {
		t.Errorf("the secret set after the rollback is version %d, want 3", v)
	}
	e.waitForBody(d, "v1 mode=one token=third-token")
	if got := summary(e.releases(d.GetId())); !strings.HasPrefix(got[0], "6 CONFIG") {
		t.Errorf("after the rollback, a secret change made %q", got[0])
	}
}

// Rolling back to the current release, a missing one, a pruned one or
// another user's deployment is refused with a clear error and changes
// nothing.
func TestRollbackRefusals(t *testing.T) {
	dir := testenv.DataDir(t)
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.DataDir, c.KeepReleases = dir, 2 }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "versioned", Files: versionedApp("v1")})
	e.waitForBody(d, "v1 mode=undefined token=undefined")
	e.redeploy(d.GetId(), versionedApp("v2"))
	e.waitForBody(d, "v2 mode=undefined token=undefined")
	e.redeploy(d.GetId(), versionedApp("v3"))
	e.waitForBody(d, "v3 mode=undefined token=undefined")
	// Release 1 is pruned once release 3 serves and the handover is done.
	for deadline := time.Now().Add(10 * time.Second); e.releases(d.GetId())[2].GetRollbackAvailable(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("release 1 is still available for rollback with 2 releases kept")
		}
	}

	_, err := e.rollback(d.GetId(), 3)
	wantCode(t, err, connect.CodeFailedPrecondition, "release 3 is the current release")
	_, err = e.rollback(d.GetId(), 9)
	if v := violations(t, wantCode(t, err, connect.CodeNotFound, "no release 9", "latest is 3")); !slices.Contains(v, "release:exists") {
		t.Errorf("violations = %v, want one on release", v)
	}
	_, err = e.rollback(d.GetId(), 1)
	wantCode(t, err, connect.CodeFailedPrecondition, "older than the 2 releases kept")
	_, err = e.rollback(d.GetId(), 0)
	if v := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !slices.Contains(v, "release:int64.gt") {
		t.Errorf("violations = %v, want release:int64.gt", v)
	}
	_, err = e.otherUser().rollback(d.GetId(), 2)
	wantCode(t, err, connect.CodeNotFound)
	_, err = e.otherUser().client.ListReleases(context.Background(), withToken(&coderunnerv1.ListReleasesRequest{DeploymentId: d.GetId()}, e.otherUser().token))
	wantCode(t, err, connect.CodeNotFound)

	// A redeploy that fails before serving makes no release: the one that
	// serves on stays current.
	e.redeploy(d.GetId(), []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"broken","main":"index.js"}`)},
		{Path: "index.js", Content: []byte(`throw new Error("broken on purpose");`)},
	})
	for deadline := time.Now().Add(time.Minute); !e.get(d.GetId()).GetReplacementFailed(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broken redeploy did not fail; events:\n%s", strings.Join(e.events(d.GetId()), "\n"))
		}
	}

	list := e.releases(d.GetId())
	if len(list) != 3 || list[0].GetNumber() != 3 || !list[1].GetRollbackAvailable() || list[2].GetRollbackAvailable() {
		t.Errorf("releases after the refusals = %q (available: %v %v)", summary(list), list[1].GetRollbackAvailable(), list[2].GetRollbackAvailable())
	}
	// The pruned release's source is removed; the kept one's stays.
	for deadline := time.Now().Add(5 * time.Second); sourceStored(t, dir, list[2].GetSourceDigest()); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Error("the source of pruned release 1 is still stored")
			break
		}
	}
	if !sourceStored(t, dir, list[1].GetSourceDigest()) {
		t.Error("the source of kept release 2 was removed")
	}
	if got := e.get(d.GetId()); got.GetRelease() != 3 || got.GetRevision() != 3 {
		t.Errorf("deployment after the refusals at release %d revision %d", got.GetRelease(), got.GetRevision())
	}
	status, body := e.fetch(d, "/")
	if status != 200 || body != "v3 mode=undefined token=undefined" {
		t.Errorf("after the refusals the app answers %d %q", status, body)
	}

	// A stopped deployment rolled back starts with the old release, as a
	// redeploy of a stopped one does.
	if _, err := e.client.StopDeployment(context.Background(), withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.rollback(d.GetId(), 2); err != nil {
		t.Fatalf("RollbackDeployment of a stopped deployment: %v", err)
	}
	e.waitForBody(d, "v2 mode=undefined token=undefined")
	if got := e.releases(d.GetId()); got[0].GetNumber() != 4 || got[0].GetRollbackOf() != 2 || !got[0].GetCurrent() {
		t.Errorf("after rolling back the stopped deployment: %q", summary(got))
	}
}
