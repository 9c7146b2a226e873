package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/source"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestSourcesAreRemovedWhenUnused: a stored source stays while any
// deployment uses it and is removed when the last one moves on (redeploy)
// or is deleted; a server starting up removes the sources no deployment
// uses and keeps the ones in use. Only the current release is kept here:
// older ones keep their sources for rollback.
func TestSourcesAreRemovedWhenUnused(t *testing.T) {
	dir := testenv.DataDir(t)
	onDir := testenv.Options{Configure: func(c *config.Config) { c.DataDir, c.KeepReleases = dir, 1 }}
	e := newEngine(t, sqlite, onDir)
	ctx := context.Background()
	stored := func(digest string) bool { return sourceStored(t, dir, digest) }
	hello := example(t, "node-hello")

	// Two deployments of the same files share one stored source; deleting
	// one leaves it to the other.
	a := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "a", Files: hello})
	b := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "b", Files: hello})
	shared := a.GetSourceDigest()
	if b.GetSourceDigest() != shared || !stored(shared) {
		t.Fatalf("digests %s and %s, stored %v: want one shared stored source", shared, b.GetSourceDigest(), stored(shared))
	}
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: a.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if !stored(shared) {
		t.Fatal("deleting a removed the source b still uses")
	}

	// Redeploying b with other files moves it to a new source; the old
	// one, now unused, is removed (once the new revision serves: a
	// running revision's source is kept until then, in case it has to
	// serve on).
	b = e.waitFor(b.GetId(), statusRunning, 30*time.Second)
	res, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{
		Id: b.GetId(), Files: withFile(hello, "NOTES.md", "second revision\n"),
	}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	second := res.Msg.GetDeployment().GetSourceDigest()
	if second == shared || !stored(second) {
		t.Fatalf("after redeploy: new %s stored %v; want a new stored source", second, stored(second))
	}
	e.waitFor(b.GetId(), statusRunning, 30*time.Second)
	for deadline := time.Now().Add(10 * time.Second); stored(shared); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replaced source %s is still stored after the new revision took over", shared)
		}
	}
	// A redeploy of the stored source keeps it.
	if _, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: b.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if !stored(second) {
		t.Fatal("a redeploy without new files removed the source it rebuilds from")
	}

	// The only deployment of a source is deleted: the source goes.
	c := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "c", Files: withFile(hello, "NOTES.md", "c\n")})
	if !stored(c.GetSourceDigest()) {
		t.Fatal("c's source was not stored")
	}
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: c.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if stored(c.GetSourceDigest()) {
		t.Error("deleting c left its source behind")
	}

	// A source no deployment names (left by a crash, say) is removed when
	// a server starts on the data dir (below); b's stays.
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	store, err := source.NewStore(filepath.Join(dir, "sources"))
	if err != nil {
		t.Fatal(err)
	}
	tree, err := source.FromFiles([]source.File{{Path: "index.js", Content: []byte("// orphan\n")}}, source.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	orphan, err := store.Put(tree)
	if err != nil {
		t.Fatal(err)
	}
	// But not while the data dir holds a deployment this database does not
	// know: the data dir was then used with another database, whose
	// deployments need their sources.
	stray := filepath.Join(dir, "deployments", "01900000-0000-7000-8000-000000000000")
	if err := os.MkdirAll(stray, 0o700); err != nil {
		t.Fatal(err)
	}
	startAndWait(t, onDir).Stop()
	if !stored(orphan) {
		t.Fatal("a source was removed while the data dir held a deployment of another database")
	}
	if err := os.Remove(stray); err != nil {
		t.Fatal(err)
	}
	startAndWait(t, onDir)
	if stored(orphan) || !stored(second) {
		t.Errorf("after a restart: orphan stored %v (want false), b's source stored %v (want true)", stored(orphan), stored(second))
	}
}

// startAndWait starts a server with opts and returns once it serves, which
// is after its start-up reconcile.
func startAndWait(t *testing.T, opts testenv.Options) *testenv.Server {
	t.Helper()
	srv := testenv.Start(t, sqlite, opts)
	res, err := http.Get(srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return srv
}

// TestSourceKeptForConcurrentCreate: deleting the last deployment of a
// source while another is created from the same files never leaves the new
// one without its source.
func TestSourceKeptForConcurrentCreate(t *testing.T) {
	dir := testenv.DataDir(t)
	e := newEngine(t, sqlite, testenv.Options{Configure: func(c *config.Config) { c.DataDir = dir }})
	ctx := context.Background()
	hello := example(t, "node-hello")
	for i := range 8 {
		files := withFile(hello, "NOTES.md", fmt.Sprintf("round %d\n", i))
		a := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "a", Files: files})
		var wg sync.WaitGroup
		var deleteErr error
		wg.Go(func() {
			_, deleteErr = e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: a.GetId()}, e.token))
		})
		b := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "b", Files: files})
		wg.Wait()
		if deleteErr != nil {
			t.Fatal(deleteErr)
		}
		if !sourceStored(t, dir, b.GetSourceDigest()) {
			t.Fatalf("round %d: b's source was removed with a's", i)
		}
		if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: b.GetId()}, e.token)); err != nil {
			t.Fatal(err)
		}
	}
}

// sourceStored reports whether the source with digest is in the store of
// the server on data dir dir.
func sourceStored(t *testing.T, dir, digest string) bool {
	t.Helper()
	h, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(h) != 64 {
		t.Fatalf("%q is not a source digest", digest)
	}
	_, err := os.Stat(filepath.Join(dir, "sources", h[:2], h[2:]))
	return err == nil
}

// withFile returns files and one more.
func withFile(files []*coderunnerv1.SourceFile, path, content string) []*coderunnerv1.SourceFile {
	return append(files[:len(files):len(files)], &coderunnerv1.SourceFile{Path: path, Content: []byte(content)})
}
