package api_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestLeftoverStagingDirRemoved: a redeploy's staging dir that a crash left
// behind is removed when the deployment is next built in place.
func TestLeftoverStagingDirRemoved(t *testing.T) {
	dir := testenv.DataDir(t)
	onDir := testenv.Options{Configure: func(c *config.Config) { c.DataDir = dir }}
	e := newEngine(t, sqlite, onDir)
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "hello", Files: example(t, "node-hello")})
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	deployment := filepath.Join(dir, "deployments", d.GetId())
	staging := filepath.Join(deployment, "app.next-2")
	if err := os.MkdirAll(staging, 0o755); err != nil {
		t.Fatal(err)
	}
	// Without its build, the restarted server builds the app again.
	if err := os.RemoveAll(filepath.Join(deployment, "app")); err != nil {
		t.Fatal(err)
	}
	again := e.on(startAndWait(t, onDir))
	again.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if _, err := os.Stat(staging); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the leftover staging dir is still there (%v)", err)
	}
}
