package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/testenv"
)

// TestManifestRuntimeBinary: a server with coderunner-manifest of its own
// build beside it (as `make build` leaves bin/) serves a manifest
// deployment with that binary: the start-up log names it, the copy the
// sandboxes run is it, and the blog answers.
func TestManifestRuntimeBinary(t *testing.T) {
	bin := t.TempDir()
	server := filepath.Join(bin, "coderunner")
	in, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(server, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	in.Close()
	out.Close()
	// A test binary carries no VCS stamp; neither may the runtime, or they
	// would be of different builds.
	slim := filepath.Join(bin, "coderunner-manifest")
	if b, err := exec.Command("go", "build", "-buildvcs=false", "-o", slim, "github.com/coderunner/coderunner/server/cmd/coderunner-manifest").CombinedOutput(); err != nil {
		t.Fatalf("go build coderunner-manifest: %v\n%s", err, b)
	}

	dataDir := testenv.DataDir(t)
	addr := freeAddr(t)
	cmd := exec.Command(server, "serve", "--data-dir", dataDir, "--addr", addr)
	cmd.Env = append(os.Environ(), "CODERUNNER_TEST_MAIN=1")
	p := launch(t, cmd, addr)
	if logged := p.stderr.String(); !strings.Contains(logged, "binary="+slim) || !strings.Contains(logged, `why="from the same build as the server"`) {
		t.Fatalf("the start-up log does not name %s as the manifest runtime:\n%s", slim, logged)
	}
	token := roundTrip(t, p, "manifest@example.com")
	id := deployExample(t, p, token, "blog", "manifest-blog")
	d := waitStatus(t, p, token, id, "DEPLOYMENT_STATUS_RUNNING", time.Minute)
	if status, body := fetchApp(t, p, strings.TrimSuffix(d["url"].(string), "/")+"/api/users"); status != 200 {
		t.Errorf("GET /api/users = %d %s", status, body)
	}
	want, _ := os.Stat(slim)
	if got, err := os.Stat(filepath.Join(dataDir, "bin", "coderunner")); err != nil || got.Size() != want.Size() {
		t.Errorf("the sandboxes' runtime is not coderunner-manifest (%v, %d bytes vs %d)", err, sizeOf(got), want.Size())
	}
	p.stop(t)
}

func sizeOf(fi os.FileInfo) int64 {
	if fi == nil {
		return -1
	}
	return fi.Size()
}
