package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIReleasesAndRollback: releases lists what each deploy and redeploy
// ran, rollback runs an earlier one again, and bad release numbers are
// refused with the server's or the usage's words.
func TestCLIReleasesAndRollback(t *testing.T) {
	_, u := loggedIn(t, "releases@example.com")
	dir := copyExample(t, "node-hello")
	u.ok("deploy", dir, "--name", "rel")
	waitCLIStatus(t, u, "rel", "DEPLOYMENT_STATUS_RUNNING")
	index := filepath.Join(dir, "server.js")
	code, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(index, append(code, []byte("\n// second revision\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	u.ok("deploy", dir)
	waitCLIStatus(t, u, "rel", "DEPLOYMENT_STATUS_RUNNING")

	r := u.ok("releases", "rel")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "2 *") || !strings.Contains(lines[1], "redeploy") ||
		!strings.HasPrefix(lines[2], "1 ") || !strings.Contains(lines[2], "deploy") || !strings.Contains(lines[2], "releases@example.com") {
		t.Fatalf("releases:\n%s", r.stdout)
	}
	r = u.ok("rollback", "rel", "1")
	if !strings.Contains(r.stdout, "rolling back to release 1 as release 3") {
		t.Errorf("rollback: %s", r.stdout)
	}
	waitCLIStatus(t, u, "rel", "DEPLOYMENT_STATUS_RUNNING")
	if r := u.ok("releases", "rel"); !strings.Contains(r.stdout, "rollback to release 1") {
		t.Errorf("releases after the rollback:\n%s", r.stdout)
	}
	u.fails([]string{"failed_precondition", "release 3 is the current release"}, "rollback", "rel", "3")
	u.fails([]string{"not_found", "no release 7"}, "rollback", "rel", "7")
	if r := u.run("", "rollback", "rel", "two"); r.code != 2 || !strings.Contains(r.stderr, "not a release number") {
		t.Errorf("rollback to \"two\" exited %d: %s", r.code, r.stderr)
	}
}
