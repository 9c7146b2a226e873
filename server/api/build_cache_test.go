package api_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// otherUser signs up another user on e's server.
func (e *engine) otherUser() *engine {
	e.t.Helper()
	token, _ := signUp(e.t, e.auth)
	return &engine{t: e.t, srv: e.srv, auth: e.auth, client: e.client, token: token}
}

// localDepApp is a Node.js app with one dependency installed from its own
// source (file:./local), so npm needs no registry, and a preinstall script
// that runs inside the build sandbox.
func localDepApp(name, preinstall, index string) []*coderunnerv1.SourceFile {
	return []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"` + name + `","main":"index.js","dependencies":{"local":"file:./local"},"scripts":{"preinstall":"` + preinstall + `"}}`)},
		{Path: "local/package.json", Content: []byte(`{"name":"local","version":"1.0.0","main":"index.js"}`)},
		{Path: "local/index.js", Content: []byte(`module.exports = "local dependency";`)},
		{Path: "index.js", Content: []byte(index)},
	}
}

// TestBuildCachesArePerOwner: a build runs its owner's scripts with the npm
// cache writable, so one user's build must not see or change another's
// npm cache, nor hand its node_modules to another user's app.
func TestBuildCachesArePerOwner(t *testing.T) {
	alice := newEngine(t, sqlite, testenv.Options{})
	bob := alice.otherUser()
	const serve = `require("node:http").createServer((q, s) => s.end(require("node:fs").readFileSync("seen.txt", "utf8") + require("local"))).listen(process.env.PORT, process.env.HOST);`

	planted := localDepApp("planter", "touch /npm-cache/planted-by-alice && echo built-by-alice > seen.txt", serve)
	a := alice.create(&coderunnerv1.CreateDeploymentRequest{Name: "planter", Files: planted})
	a = alice.waitFor(a.GetId(), statusRunning, 2*time.Minute)
	if status, body := alice.fetch(a, "/"); status != 200 || !strings.Contains(body, "built-by-alice") {
		t.Fatalf("alice's app = %d %q", status, body)
	}

	// Bob's build lists the npm cache it is given.
	looker := localDepApp("looker", "ls -a /npm-cache > seen.txt", serve)
	b := bob.create(&coderunnerv1.CreateDeploymentRequest{Name: "looker", Files: looker})
	b = bob.waitFor(b.GetId(), statusRunning, 2*time.Minute)
	status, body := bob.fetch(b, "/")
	if status != 200 || !strings.Contains(body, "local dependency") {
		t.Fatalf("bob's app = %d %q", status, body)
	}
	if strings.Contains(body, "planted-by-alice") {
		t.Errorf("bob's build sees what alice's build put in the npm cache:\n%s", body)
	}

	// The same source as alice's: bob's build installs for himself
	// instead of reusing her node_modules.
	same := bob.create(&coderunnerv1.CreateDeploymentRequest{Name: "same", Files: planted})
	same = bob.waitFor(same.GetId(), statusRunning, 2*time.Minute)
	if events := strings.Join(bob.events(same.GetId()), "\n"); !strings.Contains(events, "BUILDING: running npm install") {
		t.Errorf("bob's build of alice's source did not install:\n%s", events)
	}

	// Within one owner the cache serves: alice's redeploy reuses it, until
	// the project's .npmrc (npm's configuration, which changes what npm
	// installs) changes.
	redeploy := func(files []*coderunnerv1.SourceFile) string {
		t.Helper()
		if _, err := alice.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: a.GetId(), Files: files}, alice.token)); err != nil {
			t.Fatal(err)
		}
		alice.waitFor(a.GetId(), statusRunning, 2*time.Minute)
		events := alice.events(a.GetId())
		for i := len(events) - 1; i >= 0; i-- {
			if strings.HasPrefix(events[i], "BUILDING: ") {
				return events[i]
			}
		}
		t.Fatalf("no build event:\n%s", strings.Join(events, "\n"))
		return ""
	}
	if got := redeploy(planted); !strings.Contains(got, "reusing cached node_modules") {
		t.Errorf("alice's redeploy with the same dependencies: %q, want the cache reused", got)
	}
	withNpmrc := append(planted, &coderunnerv1.SourceFile{Path: ".npmrc", Content: []byte("install-links=true\n")})
	if got := redeploy(withNpmrc); !strings.Contains(got, "running npm install") {
		t.Errorf("alice's redeploy with a new .npmrc: %q, want a new install", got)
	}
}

// TestSharedBuildCachesRemovedAtStart: a server starting on a data dir
// from before build caches were per owner removes the shared ones, and a
// running deployment whose dependencies are no longer cached is built
// again instead of starting without its node_modules.
func TestSharedBuildCachesRemovedAtStart(t *testing.T) {
	dir := testenv.DataDir(t)
	onDir := testenv.Options{Configure: func(c *config.Config) { c.DataDir = dir }}
	e := newEngine(t, sqlite, onDir)
	const serve = `require("node:http").createServer((q, s) => s.end(require("local"))).listen(process.env.PORT, process.env.HOST);`
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "upgrade", Files: localDepApp("upgrade", "true", serve)})
	d = e.waitFor(d.GetId(), statusRunning, 2*time.Minute)
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	// The old layout: node_modules and the npm cache shared by everyone.
	owners := filepath.Join(dir, "cache", "owners")
	legacy := filepath.Join(dir, "cache", "node_modules")
	if err := os.Rename(owners, legacy); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "cache", "npm", "_cacache"), 0o755); err != nil {
		t.Fatal(err)
	}

	again := e.on(startAndWait(t, onDir))
	d = again.waitFor(d.GetId(), statusRunning, 2*time.Minute)
	if status, body := again.fetch(d, "/"); status != 200 || body != "local dependency" {
		t.Errorf("after the restart the app answers %d %q", status, body)
	}
	events := again.events(d.GetId())
	if last := events[len(events)-2]; !strings.HasPrefix(last, "BUILDING: running npm install") {
		t.Errorf("the restart did not install the dependencies again:\n%s", strings.Join(events, "\n"))
	}
	for _, gone := range []string{legacy, filepath.Join(dir, "cache", "npm")} {
		if _, err := os.Stat(gone); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s is still there (%v)", gone, err)
		}
	}
}

// cachedModules lists the keys of the node_modules cached under dataDir,
// of every owner.
func cachedModules(t *testing.T, dataDir string) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(dataDir, "cache", "owners", "*", "node_modules", "*"))
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(dirs))
	for i, dir := range dirs {
		keys[i] = filepath.Base(dir)
	}
	slices.Sort(keys)
	return keys
}

// slowLocalDep serves its dependency's text after ?ms= milliseconds.
const slowLocalDep = `require("node:http").createServer((q, s) => setTimeout(() => s.end(require("local")), Number(new URL(q.url, "http://app").searchParams.get("ms") || 0))).listen(process.env.PORT, process.env.HOST);`

// TestUnusedDependencyCachesRemoved: a cached node_modules is removed once
// no deployment of its owner builds to it and no running revision mounts
// it: not while a redeploy's previous revision still drains from it, nor
// while another deployment uses it. An owner's last delete removes the
// owner's npm cache too. Only the current release is kept here: older
// ones keep their builds for rollback (TestRollbackRefusals prunes them).
func TestUnusedDependencyCachesRemoved(t *testing.T) {
	dir := testenv.DataDir(t)
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.DataDir, c.KeepReleases = dir, 1 }})
	ctx := context.Background()
	del := func(id string) {
		t.Helper()
		if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: id}, e.token)); err != nil {
			t.Fatal(err)
		}
	}
	v1 := localDepApp("gc", "true", slowLocalDep)
	v2 := localDepApp("gc-two", "true", slowLocalDep) // another package.json: another key
	a := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "a", Files: v1})
	a = e.waitFor(a.GetId(), statusRunning, 2*time.Minute)
	other := e.runProbe("other") // no dependencies
	first := cachedModules(t, dir)
	if len(first) != 1 {
		t.Fatalf("cached %v, want one node_modules", first)
	}

	// a moves to v2 while a slow request keeps its v1 revision draining
	// (10 s: long enough for the v2 build on a loaded machine).
	u, _ := url.Parse(a.GetUrl())
	slow := e.getInBackground("http://" + u.Host + "/?ms=10000")
	time.Sleep(200 * time.Millisecond)
	if _, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: a.GetId(), Files: v2}, e.token)); err != nil {
		t.Fatal(err)
	}
	a = e.waitFor(a.GetId(), statusRunning, 2*time.Minute)
	// A collection now (a delete runs one) keeps v1's: the draining
	// revision runs from it.
	del(other.GetId())
	during := cachedModules(t, dir)
	if len(during) != 2 || !slices.Contains(during, first[0]) {
		t.Fatalf("while v1 drains, cached %v; want v1's %s and v2's", during, first[0])
	}
	if code := <-slow; code != http.StatusOK {
		t.Errorf("the draining request got %d", code)
	}
	var second []string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if second = cachedModules(t, dir); len(second) == 1 && second[0] != first[0] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after v1 stopped, cached %v; want only v2's", second)
		}
	}

	// Another deployment with v2's dependencies keeps them past a's delete;
	// the last one's delete removes them.
	b := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "b", Files: v2})
	b = e.waitFor(b.GetId(), statusRunning, 2*time.Minute)
	if events := strings.Join(e.events(b.GetId()), "\n"); !strings.Contains(events, "reusing cached node_modules") {
		t.Errorf("b did not reuse a's node_modules:\n%s", events)
	}
	del(a.GetId())
	if got := cachedModules(t, dir); !slices.Equal(got, second) {
		t.Errorf("after deleting a, cached %v; want %v, which b uses", got, second)
	}
	del(b.GetId())
	if got := cachedModules(t, dir); len(got) != 0 {
		t.Errorf("after deleting every user of it, cached %v", got)
	}
	// That was the owner's last deployment: the npm cache goes too.
	if owners, _ := filepath.Glob(filepath.Join(dir, "cache", "owners", "*")); len(owners) != 0 {
		t.Errorf("build caches of an owner with no deployments left: %v", owners)
	}
}

// TestStartupRemovesUnusedDependencyCaches: a server starting up removes
// cached node_modules no deployment uses and keeps those in use.
func TestStartupRemovesUnusedDependencyCaches(t *testing.T) {
	dir := testenv.DataDir(t)
	onDir := testenv.Options{Configure: func(c *config.Config) { c.DataDir = dir }}
	e := newEngine(t, sqlite, onDir)
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "kept", Files: localDepApp("kept", "true", slowLocalDep)})
	d = e.waitFor(d.GetId(), statusRunning, 2*time.Minute)
	used := cachedModules(t, dir)
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	owners, _ := filepath.Glob(filepath.Join(dir, "cache", "owners", "*"))
	if len(owners) != 1 || len(used) != 1 {
		t.Fatalf("owners %v, cached %v; want one of each", owners, used)
	}
	stale := filepath.Join(owners[0], "node_modules", "0000stale")
	if err := os.MkdirAll(filepath.Join(stale, "left-pad"), 0o755); err != nil {
		t.Fatal(err)
	}
	again := e.on(startAndWait(t, onDir))
	again.waitFor(d.GetId(), statusRunning, time.Minute)
	if got := cachedModules(t, dir); !slices.Equal(got, used) {
		t.Errorf("after start-up, cached %v; want only %v", got, used)
	}
}
