package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

const postgresEngine = coderunnerv1.DatabaseEngine_DATABASE_ENGINE_POSTGRES

func (e *engine) databaseClient() coderunnerv1connect.DatabaseServiceClient {
	return coderunnerv1connect.NewDatabaseServiceClient(testenv.HTTP1Client(), e.srv.URL, connect.WithProtoJSON())
}

func (e *engine) createDatabase(id string) (*coderunnerv1.Database, error) {
	res, err := e.databaseClient().CreateDatabase(context.Background(), withToken(&coderunnerv1.CreateDatabaseRequest{DeploymentId: id, Engine: postgresEngine}, e.token))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetDatabase(), nil
}

// appsPostgres returns an admin URL of the machine's PostgreSQL (the one
// TEST_DATABASE_URL names) for --apps-postgres-url, and a connection to
// it to look at what CodeRunner made there.
func appsPostgres(t *testing.T) (string, *sql.DB) {
	t.Helper()
	if _, ok := testenv.Postgres(t); !ok {
		t.Skip("needs PostgreSQL (TEST_DATABASE_URL)")
	}
	url := os.Getenv("TEST_DATABASE_URL")
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	return url, admin
}

// TestDatabaseLifecycle: CreateDatabase makes a database and a role of the
// deployment's own with the isolation rules, GetDatabase and ListDatabases
// describe it without its password, DeleteDatabase and deleting the
// deployment drop it, and bad requests get the right codes.
func TestDatabaseLifecycle(t *testing.T) {
	url, admin := appsPostgres(t)
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.AppsPostgresURL = url }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "withdb", Files: crashingApp})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, time.Minute)

	db, err := e.createDatabase(d.GetId())
	if err != nil {
		t.Fatal(err)
	}
	name := db.GetName()
	user := db.GetUser()
	if !strings.HasPrefix(name, "app_") || user != name+"_1" || db.GetConnectionLimit() != 20 || db.GetSizeBytes() <= 0 ||
		db.GetUrl() != "postgres://"+user+":[redacted]@127.0.0.1:5432/"+name+"?sslmode=disable" {
		t.Fatalf("CreateDatabase = %v", db)
	}
	// The owner cannot log in; the login role can, within its limit, as
	// a member of the owner; neither has any power over the server.
	for role, want := range map[string]string{name: "false false false false -1", user: "false false false true 20"} {
		var super, createDB, createRole, login bool
		var connLimit int
		if err := admin.QueryRowContext(ctx, `SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = $1`, role).
			Scan(&super, &createDB, &createRole, &login, &connLimit); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(super, createDB, createRole, login, connLimit); got != want {
			t.Errorf("role %s: super createdb createrole login connlimit = %s, want %s", role, got, want)
		}
	}
	var publicConnect bool
	if err := admin.QueryRowContext(ctx, `SELECT has_database_privilege('public', $1, 'CONNECT')`, name).Scan(&publicConnect); err != nil || publicConnect {
		t.Errorf("PUBLIC may connect to %s: %v, %v", name, publicConnect, err)
	}
	if e.releases(d.GetId())[0].GetDescription() != "database postgres created" {
		t.Errorf("no release for the database: %v", e.releases(d.GetId())[0])
	}

	// Prometheus has its size and connections soon after.
	deadline := time.Now().Add(15 * time.Second)
	for {
		size, ok := metricValue(scrape(t, e.srv), "coderunner_database_size_bytes", map[string]string{"deployment_id": d.GetId(), "engine": "postgres"})
		if ok && size > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no coderunner_database_size_bytes for the new database")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, ok := metricValue(scrape(t, e.srv), "coderunner_database_connections", map[string]string{"deployment_id": d.GetId(), "engine": "postgres"}); !ok {
		t.Error("no coderunner_database_connections for the new database")
	}

	got, err := e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil || got.Msg.GetDatabase().GetName() != name {
		t.Fatalf("GetDatabase = %v, %v", got, err)
	}
	list, err := e.databaseClient().ListDatabases(ctx, withToken(&coderunnerv1.ListDatabasesRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil || len(list.Msg.GetDatabases()) != 1 {
		t.Fatalf("ListDatabases = %v, %v", list, err)
	}

	_, err = e.createDatabase(d.GetId())
	wantCode(t, err, connect.CodeAlreadyExists, "already has a postgres database")
	_, err = e.databaseClient().CreateDatabase(ctx, withToken(&coderunnerv1.CreateDatabaseRequest{DeploymentId: d.GetId()}, e.token))
	if got := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !slices.Contains(got, "engine:enum.not_in") {
		t.Errorf("no engine: violations %v", got)
	}
	_, err = e.databaseClient().CreateDatabase(ctx, withToken(&coderunnerv1.CreateDatabaseRequest{DeploymentId: d.GetId(), Engine: 42}, e.token))
	if got := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !slices.Contains(got, "engine:enum.defined_only") {
		t.Errorf("engine 42: violations %v", got)
	}
	other := e.otherUser()
	_, err = other.createDatabase(d.GetId())
	wantCode(t, err, connect.CodeNotFound)
	_, err = other.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, other.token))
	wantCode(t, err, connect.CodeNotFound)
	_, err = other.databaseClient().DeleteDatabase(ctx, withToken(&coderunnerv1.DeleteDatabaseRequest{DeploymentId: d.GetId()}, other.token))
	wantCode(t, err, connect.CodeNotFound)

	exists := func(name string) bool {
		var n int
		if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	if _, err := e.databaseClient().DeleteDatabase(ctx, withToken(&coderunnerv1.DeleteDatabaseRequest{DeploymentId: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if exists(name) {
		t.Errorf("DeleteDatabase left database %s", name)
	}
	var roles int
	if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_roles WHERE starts_with(rolname, $1)`, name).Scan(&roles); err != nil || roles != 0 {
		t.Errorf("DeleteDatabase left %d roles of %s (%v)", roles, name, err)
	}
	_, err = e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, e.token))
	wantCode(t, err, connect.CodeNotFound, "no database")

	// CreateDeployment can ask for one, made before the first start.
	withOne := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "born-with-db", Files: crashingApp,
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine}})
	born, err := e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: withOne.GetId()}, e.token))
	if err != nil || !exists(born.Msg.GetDatabase().GetName()) {
		t.Fatalf("GetDatabase of a deployment created with one = %v, %v", born, err)
	}
	_, err = e.client.CreateDeployment(ctx, withToken(&coderunnerv1.CreateDeploymentRequest{Name: "two-dbs", Files: crashingApp,
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine, postgresEngine}}, e.token))
	if got := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !slices.Contains(got, "databases:repeated.unique") {
		t.Errorf("two postgres databases: violations %v", got)
	}

	// Deleting the deployment drops its database.
	again, err := e.createDatabase(d.GetId())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if exists(again.GetName()) {
		t.Errorf("deleting the deployment left database %s", again.GetName())
	}
}

// TestCreateWithDatabaseFailsWhole: when the database server cannot be
// reached, CreateDeployment asking for a database stores nothing.
func TestCreateWithDatabaseFailsWhole(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) {
		c.AppsPostgresURL = "postgres://nobody@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2"
	}})
	ctx := context.Background()
	_, err := e.client.CreateDeployment(ctx, withToken(&coderunnerv1.CreateDeploymentRequest{Name: "nodb", Files: crashingApp,
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine}}, e.token))
	wantCode(t, err, connect.CodeUnavailable, "the database server cannot be reached")
	list, err := e.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{}, e.token))
	if err != nil || len(list.Msg.GetDeployments()) != 0 {
		t.Errorf("after the failed create: %v, %v; want no deployment", list, err)
	}
}
