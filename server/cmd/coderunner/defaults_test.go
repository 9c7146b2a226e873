package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/testenv"
)

// TestDefaultsDeploy starts the server exactly as `make run` does — no
// flags, no configuration, a fresh working directory — and deploys both
// kinds of app. The default data dir is relative (./data); every other
// test passes an absolute one, so this is the test that keeps the
// newcomer's first deploy working.
func TestDefaultsDeploy(t *testing.T) {
	dir := testenv.DataDir(t)
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = dir
	// The port is the one setting a test must choose: 8080 may be taken.
	cmd.Env = append(os.Environ(), "CODERUNNER_TEST_MAIN=1", "CODERUNNER_ADDR="+addr,
		"CODERUNNER_DATA_DIR=", "DATABASE_URL=", "CODERUNNER_JWT_SECRET=")
	p := launch(t, cmd, addr)
	token := roundTrip(t, p, "newcomer@example.com")

	for _, example := range []string{"node-hello", "manifest-blog"} {
		t.Run(example, func(t *testing.T) {
			id := deployExample(t, p, token, example, example)
			d := waitStatus(t, p, token, id, "DEPLOYMENT_STATUS_RUNNING", time.Minute)
			path := "/"
			if example == "manifest-blog" {
				path = "/api/users"
			}
			if status, body := fetchApp(t, p, strings.TrimSuffix(d["url"].(string), "/")+path); status != 200 {
				t.Errorf("GET %s%s = %d %s", d["url"], path, status, body)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "coderunner.db")); err != nil {
		t.Errorf("the default data dir is not ./data of the working directory: %v", err)
	}
	logged := p.stderr.String()
	if want := "data_dir=" + filepath.Join(dir, "data"); !strings.Contains(logged, want) {
		t.Errorf("the start-up log does not print the absolute data dir (%s)", want)
	}
	if !strings.Contains(logged, "CodeRunner is ready: open http://"+addr+"/") || !strings.Contains(logged, "login --server http://"+addr) {
		t.Errorf("no ready line with the dashboard URL and the CLI's first command:\n%s", logged)
	}
	p.stop(t)
}

// serveOnce runs `coderunner serve` expecting it to refuse to start, and
// returns its stderr.
func serveOnce(t *testing.T, dir string, env ...string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "CODERUNNER_TEST_MAIN=1", "DATABASE_URL=", "CODERUNNER_JWT_SECRET="), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
			t.Fatalf("exit = %v, want status 1; stderr:\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the server started instead of refusing to:\n%s", stderr.String())
	}
	return stderr.String()
}

// TestServeRefusesUnreachableDataDir: a data dir the sandbox uids cannot
// reach (here under a 0700 directory, as `mktemp -d` makes) stops the
// server at start-up, naming the directory and the fix, instead of
// failing every deployment later.
func TestServeRefusesUnreachableDataDir(t *testing.T) {
	dir := filepath.Join(testenv.DataDir(t), "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stderr := serveOnce(t, dir, "CODERUNNER_ADDR="+freeAddr(t))
	for _, want := range []string{"data dir " + filepath.Join(dir, "data"), dir + " is mode 0700", "chmod o+x " + dir} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr)
		}
	}
}

// TestServePortTaken: a port in use is one line naming the port and
// CODERUNNER_ADDR.
func TestServePortTaken(t *testing.T) {
	busy := startServe(t, []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET="}, "--data-dir", filepath.Join(testenv.DataDir(t), "data"))
	addr := strings.TrimPrefix(busy.url, "http://")
	stderr := serveOnce(t, testenv.DataDir(t), "CODERUNNER_ADDR="+addr)
	_, port, _ := strings.Cut(addr, ":")
	last := strings.TrimSpace(stderr[strings.LastIndex(strings.TrimSpace(stderr), "\n")+1:])
	if !strings.Contains(last, "port "+port+" is already in use") || !strings.Contains(last, "CODERUNNER_ADDR") {
		t.Errorf("last line %q does not name the port and CODERUNNER_ADDR", last)
	}
}
