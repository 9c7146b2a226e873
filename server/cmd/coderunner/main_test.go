package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/manifest"
	"github.com/coderunner/coderunner/server/testenv"
)

// The test binary doubles as the coderunner binary: started with
// CODERUNNER_TEST_MAIN=1 it runs main(), so these tests exercise exactly
// what `make run` starts.
func TestMain(m *testing.M) {
	if os.Getenv("CODERUNNER_TEST_MAIN") == "1" || (len(os.Args) > 1 && os.Args[1] == manifest.Command) {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// process is a running `coderunner serve`.
type process struct {
	cmd    *exec.Cmd
	url    string
	stderr *testenv.SyncBuffer
	exited chan error
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServe(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	addr := freeAddr(t)
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--addr" {
			addr = args[i+1]
		}
	}
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Env = append(append(os.Environ(), "CODERUNNER_TEST_MAIN=1"), env...)
	return launch(t, cmd, addr)
}

// launch starts cmd, a `coderunner serve` that will listen on addr, and
// waits until it serves /health.
func launch(t *testing.T, cmd *exec.Cmd, addr string) *process {
	t.Helper()
	p := &process{cmd: cmd, url: "http://" + addr, stderr: &testenv.SyncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			t.Logf("server stderr:\n%s", p.stderr.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(p.url + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return p
			}
		}
		select {
		case err := <-p.exited:
			t.Fatalf("server exited before serving: %v\n%s", err, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not serve /health within 20s:\n%s", p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit within 20s of SIGTERM")
	}
	if !strings.Contains(p.stderr.String(), "shutting down") {
		t.Errorf("no shutdown line in the log")
	}
}

// call posts JSON the way curl does and decodes the JSON answer.
func (p *process) call(t *testing.T, procedure, body, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.url+"/coderunner.v1."+procedure, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s answered %d %s", procedure, res.StatusCode, data)
	}
	return res.StatusCode, out
}

// roundTrip registers, logs in and verifies with plain JSON; it returns the
// session token.
func roundTrip(t *testing.T, p *process, email string) string {
	t.Helper()
	creds := `{"email":"` + email + `","password":"correct horse battery"}`
	if status, res := p.call(t, "AuthService/Register", creds, ""); status != 200 {
		t.Fatalf("Register = %d %v", status, res)
	}
	status, login := p.call(t, "AuthService/Login", creds, "")
	token, _ := login["token"].(string)
	if status != 200 || token == "" {
		t.Fatalf("Login = %d %v", status, login)
	}
	verifyEmail(t, p, token, email)
	return token
}

func verifyEmail(t *testing.T, p *process, token, email string) {
	t.Helper()
	status, verify := p.call(t, "AuthService/Verify", `{}`, token)
	user, _ := verify["user"].(map[string]any)
	if status != 200 || user["email"] != email {
		t.Fatalf("Verify = %d %v", status, verify)
	}
}

// TestServeSQLite runs the binary as `make run` does: no configuration, an
// embedded database and a generated secret that survive a restart.
func TestServeSQLite(t *testing.T) {
	dataDir := filepath.Join(testenv.DataDir(t), "data")
	env := []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET="}
	p := startServe(t, env, "--data-dir", dataDir)
	token := roundTrip(t, p, "sqlite@example.com")

	info, err := os.Stat(filepath.Join(dataDir, auth.SecretFile))
	if err != nil {
		t.Fatalf("generated JWT secret: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("JWT secret file mode %o, want 600", mode)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "coderunner.db")); err != nil {
		t.Errorf("SQLite database: %v", err)
	}
	p.stop(t)

	// Accounts, sessions and the secret persist across a restart.
	p = startServe(t, env, "--data-dir", dataDir)
	verifyEmail(t, p, token, "sqlite@example.com")
	p.stop(t)
}

// TestServePostgres runs the binary against PostgreSQL and checks that the
// start-up log prints the configuration without secrets.
func TestServePostgres(t *testing.T) {
	db, ok := testenv.Postgres(t)
	if !ok {
		t.Skip("PostgreSQL not available (set TEST_DATABASE_URL)")
	}
	u, err := url.Parse(db.URL)
	if err != nil {
		t.Fatal(err)
	}
	// Trust auth ignores the password, so it can be any secret to look for.
	u.User = url.UserPassword(u.User.Username(), "hunter2-db-password")
	const jwtSecret = "jwt-secret-that-must-not-be-logged-0123456789"
	dataDir := filepath.Join(testenv.DataDir(t), "not-yet-there")
	p := startServe(t, []string{"DATABASE_URL=" + u.String(), "CODERUNNER_JWT_SECRET=" + jwtSecret}, "--data-dir", dataDir)
	roundTrip(t, p, "postgres@example.com")
	// Ready even though nothing but the server itself needed the data dir.
	res, err := http.Get(p.url + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("/api/health = %d %s", res.StatusCode, body)
	}
	p.stop(t)

	logged := p.stderr.String()
	for _, secret := range []string{"hunter2-db-password", jwtSecret} {
		if strings.Contains(logged, secret) {
			t.Errorf("start-up log leaks %q", secret)
		}
	}
	if !strings.Contains(logged, "database=pg") {
		t.Errorf("start-up log does not name the database in use")
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "--session-ttl", "forever")
	cmd.Env = append(os.Environ(), "CODERUNNER_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want status 1", err)
	}
	if !strings.Contains(stderr.String(), "--session-ttl") {
		t.Errorf("stderr %q does not name the bad flag", stderr.String())
	}
}
