package main

import (
	"os"
	"strings"
	"testing"
)

// TestCLIDatabase: db create gives a deployment a database, db info shows
// it with the password redacted, db export dumps it, db rotate gives it
// new credentials, db rm drops it; bad usage exits 2.
func TestCLIDatabase(t *testing.T) {
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but TEST_DATABASE_URL is not set")
		}
		t.Skip("needs PostgreSQL (TEST_DATABASE_URL) for the apps' databases")
	}
	t.Setenv("CODERUNNER_APPS_POSTGRES_URL", url)
	_, u := loggedIn(t, "db@example.com")
	u.ok("deploy", copyExample(t, "node-hello"), "--name", "dbapp")
	waitCLIStatus(t, u, "dbapp", "DEPLOYMENT_STATUS_RUNNING")

	if r := u.ok("db", "create", "dbapp"); !strings.HasPrefix(r.stdout, "created database app_") {
		t.Errorf("db create: %s", r.stdout)
	}
	waitCLIStatus(t, u, "dbapp", "DEPLOYMENT_STATUS_RUNNING")
	r := u.ok("db", "info", "dbapp")
	for _, want := range []string{"Engine:       postgres", "Connections:  0 of 20", ":[redacted]@127.0.0.1:5432/app_"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("db info lacks %q:\n%s", want, r.stdout)
		}
	}
	if info := jsonOf(t, u.ok("db", "info", "dbapp", "--json")); !strings.HasPrefix(info["name"].(string), "app_") {
		t.Errorf("db info --json: %v", info)
	}
	u.fails([]string{"already_exists", "already has a postgres database"}, "db", "create", "dbapp")
	if r := u.ok("db", "export", "dbapp"); !strings.Contains(r.stdout, "PostgreSQL database dump complete") {
		t.Errorf("db export:\n%.500s", r.stdout)
	}
	if r := u.ok("db", "rotate", "dbapp"); !strings.Contains(r.stdout, "dbapp now connects as app_") || !strings.Contains(r.stdout, "_2;") {
		t.Errorf("db rotate: %s", r.stdout)
	}
	waitCLIStatus(t, u, "dbapp", "DEPLOYMENT_STATUS_RUNNING")
	if r := u.ok("db", "rm", "dbapp"); !strings.Contains(r.stdout, "dropped the database of dbapp") {
		t.Errorf("db rm: %s", r.stdout)
	}
	u.fails([]string{"not_found", "no database"}, "db", "info", "dbapp")
	if r := u.run("", "db", "drop", "dbapp"); r.code != 2 {
		t.Errorf("db drop exited %d: %s", r.code, r.stderr)
	}
}
