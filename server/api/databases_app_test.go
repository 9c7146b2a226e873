package api_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

type notesPage struct {
	Notes []struct {
		ID   int    `json:"id"`
		Body string `json:"body"`
	} `json:"notes"`
	User     string `json:"user"`
	Database string `json:"database"`
}

func (e *engine) notes(d *coderunnerv1.Deployment) (notesPage, int) {
	e.t.Helper()
	status, body := e.fetch(d, "/")
	var page notesPage
	if status == 200 {
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			e.t.Fatalf("notes: %v: %s", err, body)
		}
	}
	return page, status
}

func (e *engine) addNote(d *coderunnerv1.Deployment, text string) {
	e.t.Helper()
	res, err := e.appClient().Post(d.GetUrl(), "text/plain", bytes.NewBufferString(text))
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(res.Body)
		e.t.Fatalf("POST note: %d %s", res.StatusCode, body)
	}
}

// waitForNotes polls until d serves its notes (its database reachable).
func (e *engine) waitForNotes(d *coderunnerv1.Deployment) notesPage {
	e.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		// Until the redeploy has switched over, the previous app answers.
		page, status := e.notes(d)
		if status == 200 && page.User != "" {
			return page
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s never served its notes (last %d); logs:\n%s", d.GetName(), status, e.logText(d.GetId()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestDatabaseApp: a Node app with the pg driver reaches its own database
// through DATABASE_URL at 127.0.0.1:5432 inside its sandbox, and keeps its
// rows across a restart and a redeploy; the password never shows in its
// logs.
func TestDatabaseApp(t *testing.T) {
	url, admin := appsPostgres(t)
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.AppsPostgresURL = url }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "notes", Files: example(t, "node-hello")})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	db, err := e.createDatabase(d.GetId())
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.redeploy(d.GetId(), example(t, "postgres-notes"))
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	page := e.waitForNotes(d)
	if page.User != db.GetName() || page.Database != db.GetName() || len(page.Notes) != 0 {
		t.Fatalf("the app sees %+v, want user and database %s and no notes", page, db.GetName())
	}
	e.addNote(d, "first")
	e.addNote(d, "second")

	if _, err := e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.redeploy(d.GetId(), example(t, "postgres-notes"))
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	if page := e.waitForNotes(d); len(page.Notes) != 2 || page.Notes[1].Body != "second" {
		t.Errorf("after a restart and a redeploy the notes are %+v", page.Notes)
	}

	checkExportImport(t, e, admin, d)

	// Rotation: new credentials, no failed request, the old login gone.
	stop := e.watchAvailability(d.GetUrl())
	rotated, err := e.databaseClient().RotateDatabaseCredentials(ctx, withToken(&coderunnerv1.RotateDatabaseCredentialsRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	if user := rotated.Msg.GetDatabase().GetUser(); user != db.GetName()+"_2" {
		t.Errorf("after the rotation the user is %s, want %s_2", user, db.GetName())
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	deadline := time.Now().Add(time.Minute)
	for {
		var old int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_roles WHERE rolname = $1`, db.GetUser()).Scan(&old); err != nil {
			t.Fatal(err)
		}
		if old == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the old login %s was not dropped after the rotation", db.GetUser())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if bad := failed(stop()); len(bad) > 0 {
		t.Errorf("%d requests failed during the rotation, first %v", len(bad), bad[0])
	}
	if page := e.waitForNotes(d); len(page.Notes) != 3 {
		t.Errorf("after the rotation the notes are %+v", page.Notes)
	}
}

type probeAnswer struct {
	OK    bool             `json:"ok"`
	Error string           `json:"error"`
	Rows  []map[string]any `json:"rows"`
	Env   []string         `json:"env"`
}

func (e *engine) probeDB(d *coderunnerv1.Deployment, path string) probeAnswer {
	e.t.Helper()
	var a probeAnswer
	got := e.fetchJSON(d, path)
	raw, _ := json.Marshal(got)
	if err := json.Unmarshal(raw, &a); err != nil {
		e.t.Fatalf("probe %s: %v", path, err)
	}
	return a
}

// TestDatabaseIsolation runs testDatabaseIsolation on the machine's
// PostgreSQL, whose own databases CodeRunner does not close.
func TestDatabaseIsolation(t *testing.T) {
	url, _ := appsPostgres(t)
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.AppsPostgresURL = url }})
	testDatabaseIsolation(t, e)
}

// testDatabaseIsolation: an app's credentials reach its own database only:
// not another deployment's, nor any of closed, nor the catalog of
// passwords; it cannot make roles or databases or run programs; and its
// variables name its own database.
func testDatabaseIsolation(t *testing.T, e *engine, closed ...string) *coderunnerv1.Deployment {
	mine := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "probe-a", Files: readDir(t, "testdata/dbprobe"),
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine}})
	theirs := e.otherUser()
	other := theirs.create(&coderunnerv1.CreateDeploymentRequest{Name: "probe-b", Files: readDir(t, "testdata/dbprobe"),
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine}})
	e.waitFor(mine.GetId(), statusRunning, 2*time.Minute)
	theirs.waitFor(other.GetId(), statusRunning, 2*time.Minute)
	otherDB, err := theirs.databaseClient().GetDatabase(context.Background(), withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: other.GetId()}, theirs.token))
	if err != nil {
		t.Fatal(err)
	}
	if a := theirs.probeDB(other, "/query?sql="+url.QueryEscape("CREATE TABLE private (v text); INSERT INTO private VALUES ('theirs')")); !a.OK {
		t.Fatalf("the other app cannot write its own database: %s", a.Error)
	}

	e.probeDB(mine, "/print")
	logged := e.waitForLine(mine.GetId(), "connecting with [secret:DATABASE_URL] password [secret:PGPASSWORD]")
	if strings.Contains(logged, "postgres://") {
		t.Errorf("the logs show the connection string:\n%s", logged)
	}
	if a := e.probeDB(mine, "/env"); strings.Join(a.Env, ",") != "DATABASE_URL,PGDATABASE,PGHOST,PGPASSWORD,PGPORT,PGUSER" {
		t.Errorf("the app's database variables: %v", a.Env)
	}
	if a := e.probeDB(mine, "/query?sql="+url.QueryEscape("SELECT current_database() AS db")); !a.OK {
		t.Fatalf("the app cannot query its own database: %s", a.Error)
	}
	for _, db := range append([]string{otherDB.Msg.GetDatabase().GetName()}, closed...) {
		if a := e.probeDB(mine, "/connect?db="+db); a.OK || !strings.Contains(a.Error, "permission denied") {
			t.Errorf("connecting to %s: ok %v, error %q; want permission denied", db, a.OK, a.Error)
		}
	}
	for _, sql := range []string{
		"SELECT rolpassword FROM pg_authid",
		"CREATE ROLE intruder LOGIN",
		"CREATE DATABASE intruder",
		"SELECT * FROM dblink('dbname=postgres', 'SELECT 1') AS t(a int)",
		"COPY (SELECT 1) TO PROGRAM 'true'",
	} {
		if a := e.probeDB(mine, "/query?sql="+url.QueryEscape(sql)); a.OK {
			t.Errorf("%s succeeded", sql)
		}
	}
	return mine
}

// TestDatabaseEmbedded: with no --apps-postgres-url, CodeRunner's own
// cluster under the data dir hosts the databases, starts on first use,
// reports in /api/health, and closes its own postgres and template1
// databases to the apps too.
func TestDatabaseEmbedded(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	if got := e.healthCheck("apps_postgres"); !strings.Contains(got, "not started") {
		t.Errorf("before any database, apps_postgres is %q", got)
	}
	mine := testDatabaseIsolation(t, e, "postgres", "template1")
	// pg_dump of the cluster's own version reaches it on its socket.
	if a := e.probeDB(mine, "/query?sql="+url.QueryEscape("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('dumped')")); !a.OK {
		t.Fatal(a.Error)
	}
	if dump := e.exportDatabase(mine.GetId()); !strings.Contains(dump, "CREATE TABLE public.kept") || !strings.Contains(dump, "dumped") {
		t.Errorf("the embedded database's dump:\n%.1500s", dump)
	}
	if got := e.healthCheck("apps_postgres"); got != "ok embedded" {
		t.Errorf("with databases, apps_postgres is %q", got)
	}

	// A postmaster killed with SIGKILL: degraded until the supervisor has
	// it back (after crash recovery), then the app's rows are there.
	raw, err := os.ReadFile(filepath.Join(e.srv.Config.DataDir, "postgres", "data", "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(raw), "\n", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "apps_postgres degraded after the kill", func() bool {
		return strings.HasPrefix(e.healthCheck("apps_postgres"), "degraded embedded")
	})
	waitUntil(t, time.Minute, "apps_postgres ok again", func() bool { return e.healthCheck("apps_postgres") == "ok embedded" })
	waitUntil(t, 30*time.Second, "the app reads its rows after the restart", func() bool {
		a := e.probeDB(mine, "/query?sql="+url.QueryEscape("SELECT v FROM kept"))
		return a.OK && len(a.Rows) == 1
	})
}

// healthCheck returns "<status> <detail>" of one /api/health check.
func (e *engine) healthCheck(name string) string {
	e.t.Helper()
	res, err := testenv.HTTP1Client().Get(e.srv.URL + "/api/health")
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	var report struct {
		Checks map[string]struct{ Status, Detail string } `json:"checks"`
	}
	if err := json.NewDecoder(res.Body).Decode(&report); err != nil {
		e.t.Fatal(err)
	}
	c := report.Checks[name]
	return c.Status + " " + c.Detail
}

// exportDatabase reads the whole ExportDatabase stream.
func (e *engine) exportDatabase(id string) string {
	e.t.Helper()
	stream, err := e.databaseClient().ExportDatabase(context.Background(), withToken(&coderunnerv1.ExportDatabaseRequest{DeploymentId: id}, e.token))
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	var dump bytes.Buffer
	for stream.Receive() {
		dump.Write(stream.Msg().GetChunk())
	}
	if err := stream.Err(); err != nil {
		e.t.Fatalf("ExportDatabase: %v", err)
	}
	return dump.String()
}

// checkExportImport: the dump restores into a fresh database with the
// same rows; an import applies whole, and a failing one not at all.
func checkExportImport(t *testing.T, e *engine, admin *sql.DB, d *coderunnerv1.Deployment) {
	ctx := context.Background()
	dump := e.exportDatabase(d.GetId())
	if !strings.Contains(dump, "CREATE TABLE public.notes") || strings.Contains(dump, "OWNER TO") {
		t.Fatalf("the dump lacks the notes table or names owners:\n%.2000s", dump)
	}
	fresh := "restore_" + strings.ReplaceAll(d.GetId(), "-", "")[:16]
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+fresh); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+fresh+" WITH (FORCE)")
	})
	restoreURL, _ := url.Parse(os.Getenv("TEST_DATABASE_URL"))
	restoreURL.Path = "/" + fresh
	restore := exec.Command("psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--dbname", restoreURL.String())
	restore.Stdin = strings.NewReader(dump)
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("restoring the dump: %v\n%s", err, out)
	}
	restored, err := sql.Open("pgx", restoreURL.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = restored.Close() }()
	var n int
	if err := restored.QueryRowContext(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil || n != 2 {
		t.Errorf("the restored database has %d notes (%v), want 2", n, err)
	}

	importSQL := func(script string) error {
		_, err := e.databaseClient().ImportDatabase(ctx, withToken(&coderunnerv1.ImportDatabaseRequest{DeploymentId: d.GetId(), Sql: []byte(script)}, e.token))
		return err
	}
	err = importSQL("INSERT INTO notes (body) VALUES ('imported');\nINSERT INTO nowhere VALUES (1);\n")
	if v := violations(t, wantCode(t, err, connect.CodeInvalidArgument, "nothing was imported", "line 2", `relation "nowhere" does not exist`)); len(v) != 1 || !strings.HasPrefix(v[0], "sql:") {
		t.Errorf("import violations %v", v)
	}
	if page := e.waitForNotes(d); len(page.Notes) != 2 {
		t.Errorf("a failed import left %d notes, want 2", len(page.Notes))
	}
	if err := importSQL("INSERT INTO notes (body) VALUES ('imported');"); err != nil {
		t.Fatal(err)
	}
	if page := e.waitForNotes(d); len(page.Notes) != 3 || page.Notes[2].Body != "imported" {
		t.Errorf("after the import the notes are %+v", page.Notes)
	}
	// As the app's own login: no way to the admin's powers.
	err = importSQL("CREATE ROLE intruder SUPERUSER;")
	wantCode(t, err, connect.CodeInvalidArgument, "must be superuser")
}
