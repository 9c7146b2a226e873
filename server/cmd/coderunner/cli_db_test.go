package main

import (
	"os"
	"strings"
	"testing"

	"github.com/coderunner/coderunner/server/testenv"
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
	t.Setenv("CODERUNNER_APPS_REDIS_URL", testenv.Redis(t))
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
	dump := u.ok("db", "export", "dbapp")
	if !strings.Contains(dump.stdout, "PostgreSQL database dump complete") {
		t.Errorf("db export:\n%.500s", dump.stdout)
	}
	if r := u.run(dump.stdout, "db", "import", "dbapp"); r.code != 0 || !strings.Contains(r.stdout, "imported") {
		t.Errorf("db import exited %d: %s %s", r.code, r.stdout, r.stderr)
	}
	u.fails([]string{"invalid_argument", "sql: must be at least 1 bytes"}, "db", "import", "dbapp")
	if r := u.run("SELECT 1;\nSELECT nope;\n", "db", "import", "dbapp"); r.code == 0 || !strings.Contains(r.stderr, "nothing was imported: line 2") {
		t.Errorf("db import of bad SQL exited %d: %s", r.code, r.stderr)
	}

	if r := u.ok("db", "create", "dbapp", "--engine", "redis"); !strings.Contains(r.stdout, "it restarts with REDIS_URL") {
		t.Errorf("db create --engine redis: %s", r.stdout)
	}
	waitCLIStatus(t, u, "dbapp", "DEPLOYMENT_STATUS_RUNNING")
	u.fails([]string{"invalid_argument", "several databases; name the engine"}, "db", "info", "dbapp")
	if r := u.ok("db", "info", "dbapp", "--engine", "redis"); !strings.Contains(r.stdout, "Engine:       redis") || !strings.Contains(r.stdout, "@127.0.0.1:6379/0") {
		t.Errorf("db info --engine redis:\n%s", r.stdout)
	}
	if r := u.ok("db", "rm", "dbapp", "--engine", "redis"); !strings.Contains(r.stdout, "dropped the database of dbapp") {
		t.Errorf("db rm --engine redis: %s", r.stdout)
	}
	if r := u.run("", "db", "info", "dbapp", "--engine", "mysql"); r.code != 2 || !strings.Contains(r.stderr, "--engine is postgres or redis") {
		t.Errorf("--engine mysql exited %d: %s", r.code, r.stderr)
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
