package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLISecretsAndEnv: secrets set from arguments and from stdin, listed
// without values, removed; env exported and imported from a file.
func TestCLISecretsAndEnv(t *testing.T) {
	p, u := loggedIn(t, "config@example.com")
	dir := copyExample(t, "node-hello")
	u.ok("deploy", dir, "--name", "cfg")

	r := u.ok("secrets", "set", "cfg", "API_KEY=sk_live_first_value", `QUOTED=a "b" $c`)
	if !strings.Contains(r.stdout, "set API_KEY, QUOTED on cfg") {
		t.Errorf("secrets set: %s", r.stdout)
	}
	waitCLIStatus(t, u, "cfg", "DEPLOYMENT_STATUS_RUNNING")
	if r := u.run("from-stdin-value\n", "secrets", "set", "cfg", "FROM_STDIN"); r.code != 0 {
		t.Fatalf("secrets set from stdin: %s", r.stderr)
	}
	waitCLIStatus(t, u, "cfg", "DEPLOYMENT_STATUS_RUNNING")
	r = u.ok("secrets", "ls", "cfg")
	for _, want := range []string{"NAME", "API_KEY", "FROM_STDIN", "QUOTED", "config@example.com"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("secrets ls lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "sk_live_first_value") || strings.Contains(r.stdout, "from-stdin-value") {
		t.Errorf("secrets ls shows a value:\n%s", r.stdout)
	}
	u.ok("secrets", "rm", "cfg", "QUOTED")
	waitCLIStatus(t, u, "cfg", "DEPLOYMENT_STATUS_RUNNING")
	u.fails([]string{"not_found", `no secret named "QUOTED"`}, "secrets", "rm", "cfg", "QUOTED")
	if r := u.run("", "secrets", "set", "cfg"); r.code != 2 {
		t.Errorf("secrets set without pairs exited %d", r.code)
	}

	envFile := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(envFile, []byte("# settings\nGREETING=from a file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u.ok("env", "import", "cfg", envFile)
	waitCLIStatus(t, u, "cfg", "DEPLOYMENT_STATUS_RUNNING")
	r = u.ok("env", "export", "cfg")
	if !strings.Contains(r.stdout, `GREETING="from a file"`) || !strings.Contains(r.stdout, "# API_KEY is a secret") || strings.Contains(r.stdout, "sk_live") {
		t.Errorf("env export:\n%s", r.stdout)
	}
	if err := os.WriteFile(envFile, []byte("GOOD=1\nbad line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	u.fails([]string{"invalid_argument", "line 2: expected NAME=value"}, "env", "import", "cfg", envFile)
	_ = p
}
