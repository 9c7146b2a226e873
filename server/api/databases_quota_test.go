package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestPostgresQuota: a PostgreSQL database grown over --database-max-mib
// turns read-only (its sessions end; new ones refuse writes), says so in
// the deployment's log, and turns writable once it has shrunk.
func TestPostgresQuota(t *testing.T) {
	pgURL, _ := appsPostgres(t)
	ctx := context.Background()
	// An empty database is about 7.5 MiB on disk.
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) {
		c.AppsPostgresURL, c.DatabaseMaxMiB = pgURL, 16
	}})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "quota", Files: readDir(t, "testdata/dbprobe"),
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine}})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	query := func(sql string) probeAnswer { return e.probeDB(d, "/query?sql="+url.QueryEscape(sql)) }
	get := func() *coderunnerv1.Database {
		res, err := e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, e.token))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetDatabase()
	}
	if db := get(); db.GetReadOnly() || db.GetMaxBytes() != 16<<20 {
		t.Fatalf("a new database: %v", db)
	}
	if a := query("CREATE TABLE big AS SELECT g, md5(g::text) AS h FROM generate_series(1, 200000) AS g"); !a.OK {
		t.Fatalf("fill: %s", a.Error)
	}
	if db := get(); !db.GetReadOnly() || db.GetSizeBytes() <= 16<<20 {
		t.Fatalf("over its quota the database is %v", db)
	}
	e.waitForLine(d.GetId(), "database postgres is over its 16.0 MiB quota")
	if a := query("INSERT INTO big VALUES (0, 'x')"); a.OK || !strings.Contains(a.Error, "read-only transaction") {
		t.Errorf("a write when read-only: %+v", a)
	}
	if a := query("SELECT count(*) AS n FROM big"); !a.OK {
		t.Errorf("a read when read-only: %s", a.Error)
	}
	if a := query("BEGIN READ WRITE; DROP TABLE big; COMMIT"); !a.OK {
		t.Fatalf("drop the table as the hint says: %s", a.Error)
	}
	if db := get(); db.GetReadOnly() {
		t.Errorf("back under its quota the database is still read-only: %v", db)
	}
	e.waitForLine(d.GetId(), "database postgres is back under its 16.0 MiB quota")
	if a := query("CREATE TABLE small (x int)"); !a.OK {
		t.Errorf("a write once writable again: %s", a.Error)
	}
}
