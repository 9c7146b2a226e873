package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coderunner/coderunner/server/testenv"
)

// cliUser is one person at a terminal: their own config directory, so
// what `coderunner login` keeps is theirs.
type cliUser struct {
	t      *testing.T
	config string // XDG_CONFIG_HOME
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func newCLIUser(t *testing.T) *cliUser {
	return &cliUser{t: t, config: filepath.Join(testenv.DataDir(t), "config")}
}

// command makes `coderunner args...` as this user runs it.
func (u *cliUser) command(stdin string, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CODERUNNER_TEST_MAIN=1", "XDG_CONFIG_HOME="+u.config, "CODERUNNER_SERVER=", "CODERUNNER_TOKEN=")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, &stdout, &stderr
}

// run runs the CLI to its end.
func (u *cliUser) run(stdin string, args ...string) cliResult {
	u.t.Helper()
	cmd, stdout, stderr := u.command(stdin, args...)
	err := cmd.Run()
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		u.t.Fatalf("coderunner %v: %v", args, err)
	}
	return cliResult{stdout.String(), stderr.String(), code}
}

// ok runs the CLI and expects exit status 0.
func (u *cliUser) ok(args ...string) cliResult {
	u.t.Helper()
	r := u.run("", args...)
	if r.code != 0 {
		u.t.Fatalf("coderunner %s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// fails runs the CLI expecting exit status 1 and stderr holding each of want.
func (u *cliUser) fails(want []string, args ...string) cliResult {
	u.t.Helper()
	r := u.run("", args...)
	if r.code != 1 {
		u.t.Errorf("coderunner %s exited %d, want 1\nstderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			u.t.Errorf("coderunner %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
	return r
}

// jsonOf decodes a --json answer.
func jsonOf(t *testing.T, r cliResult) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	return v
}

// copyExample copies examples/<name> to a temp folder the test may change.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "..", "examples", name)
	dst := filepath.Join(testenv.DataDir(t), name)
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var deployedLine = regexp.MustCompile(`Deployed (\S+) \(revision (\d+)\) in [0-9.]+s: running at (\S+)`)

// TestCLILogin: a password read from stdin, and an API token with --token,
// both end in a config file only its owner can read; bad credentials are
// the server's code and message.
func TestCLILogin(t *testing.T) {
	p := startServe(t, []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET="}, "--data-dir", filepath.Join(testenv.DataDir(t), "data"))
	u := newCLIUser(t)
	if r := u.run("", "ls"); r.code != 1 || !strings.Contains(r.stderr, "not logged in: run `coderunner login --server URL`") {
		t.Errorf("ls before login: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := u.run("cli@example.com\nwrong password\n", "login", "--server", p.url); r.code != 1 || !strings.Contains(r.stderr, "error: unauthenticated: ") {
		t.Errorf("login of an unknown account: exit %d, stderr %q", r.code, r.stderr)
	}

	token := roundTrip(t, p, "cli@example.com")
	r := u.run("cli@example.com\ncorrect horse battery\n", "login", "--server", p.url)
	if r.code != 0 || !strings.Contains(r.stdout, "Logged in to "+p.url+" as cli@example.com") {
		t.Fatalf("login: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	path := filepath.Join(u.config, "coderunner", "config.json")
	checkConfig(t, path, p.url)
	if r := u.ok("ls"); !strings.Contains(r.stdout, "No deployments yet") {
		t.Errorf("ls after login: %q", r.stdout)
	}

	_, created := p.call(t, "AuthService/CreateApiToken", `{"name":"cli"}`, token)
	secret, _ := created["secret"].(string)
	other := newCLIUser(t)
	other.fails([]string{"error: unauthenticated: "}, "login", "--server", p.url, "--token", "crt_not_a_real_token")
	if _, err := os.Stat(filepath.Join(other.config, "coderunner", "config.json")); err == nil {
		t.Error("a refused token was saved")
	}
	if r := other.ok("login", "--server", p.url, "--token", secret); !strings.Contains(r.stdout, "as cli@example.com") {
		t.Errorf("login --token: %q", r.stdout)
	}
	checkConfig(t, filepath.Join(other.config, "coderunner", "config.json"), p.url)
	other.ok("ls")
}

func checkConfig(t *testing.T, path, server string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("config file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %o, want 600", path, mode)
	}
	var saved struct{ Server, Token string }
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &saved); err != nil || saved.Server != server || saved.Token == "" {
		t.Errorf("config file holds %s", data)
	}
}

// TestCLIHelp: every command explains itself on --help and exits 0; a
// misuse exits 2 with the usage.
func TestCLIHelp(t *testing.T) {
	u := newCLIUser(t)
	for _, name := range []string{"login", "deploy", "ls", "status", "logs", "open", "stop", "start", "restart", "scale", "delete"} {
		r := u.run("", name, "--help")
		if r.code != 0 || !strings.Contains(r.stderr, "usage: coderunner "+name) {
			t.Errorf("%s --help: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
	if r := u.run("", "logs", "--build", "--run", "app"); r.code != 2 || !strings.Contains(r.stderr, "--build and --run exclude each other") {
		t.Errorf("logs --build --run: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := u.run("", "status"); r.code != 2 || !strings.Contains(r.stderr, "name one deployment") {
		t.Errorf("status without a name: exit %d, stderr %q", r.code, r.stderr)
	}
}
