package api_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestManifestOnPostgres: a manifest that says database: postgres gets a
// PostgreSQL database with the deployment, and its two replicas share it:
// writes through the router (spread over both) are all read back, a
// unique field holds across them, the rows are in the deployment's own
// database, and they survive a restart. A postgres manifest redeployed
// onto a deployment without a database is refused before anything stops.
func TestManifestOnPostgres(t *testing.T) {
	pgURL, _ := appsPostgres(t)
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.AppsPostgresURL = pgURL }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "blog", Files: example(t, "manifest-blog-postgres"), Replicas: 2})
	d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	res, err := e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil {
		t.Fatalf("the manifest's database: %v", err)
	}
	name := res.Msg.GetDatabase().GetName()

	for i := range 10 {
		body := fmt.Sprintf(`{"username":"user%d","email":"u%d@example.com"}`, i, i)
		if status, out := e.send(d, "POST", "/api/users", body); status != 201 {
			t.Fatalf("POST user %d = %d %v", i, status, out)
		}
	}
	for range 4 {
		if status, _ := e.send(d, "POST", "/api/users", `{"username":"user3","email":"again@example.com"}`); status != 409 {
			t.Errorf("a duplicate username through either replica = %d, want 409", status)
		}
	}
	for range 4 {
		if status, list := e.send(d, "GET", "/api/users", ""); status != 200 || list["total"] != float64(10) {
			t.Errorf("GET /api/users = %d total %v, want 10 from either replica", status, list["total"])
		}
	}

	u, _ := url.Parse(pgURL)
	u.Path = "/" + name
	direct, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = direct.Close() }()
	var n int
	if err := direct.QueryRowContext(ctx, `SELECT count(*) FROM "User"`).Scan(&n); err != nil || n != 10 {
		t.Errorf("the deployment's database holds %d users (%v), want 10", n, err)
	}

	if _, err := e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, time.Minute)
	if status, list := e.send(d, "GET", "/api/users", ""); status != 200 || list["total"] != float64(10) {
		t.Errorf("after a restart GET /api/users = %d %v", status, list)
	}

	// The migration applies before anything stops, as on SQLite: an
	// unsafe change is refused and the running version serves on; a safe
	// one applies and keeps the rows.
	source := string(example(t, "manifest-blog-postgres")[0].GetContent())
	unsafe := strings.Replace(source, "      - name: email\n        type: string\n", "      - name: email\n        type: integer\n", 1)
	_, err = e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(unsafe)}}}, e.token))
	wantCode(t, err, connect.CodeFailedPrecondition, "email", "unchanged")
	revision := e.get(d.GetId()).GetRevision()
	safe := strings.Replace(source, "      - name: email\n        type: string\n        required: true\n", "      - name: email\n        type: string\n        required: true\n      - name: bio\n        type: text\n", 1)
	if _, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(safe)}}}, e.token)); err != nil {
		t.Fatalf("a safe redeploy: %v", err)
	}
	waitUntil(t, time.Minute, "the safe redeploy serves", func() bool {
		got := e.get(d.GetId())
		return got.GetRevision() > revision && got.GetStatus() == statusRunning && !got.GetReplacementFailed()
	})
	if status, list := e.send(d, "GET", "/api/users?username=user3", ""); status != 200 || list["total"] != float64(1) {
		t.Errorf("after the safe redeploy GET /api/users = %d %v", status, list)
	}

	plain := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "plain-blog", Files: example(t, "manifest-blog")})
	e.waitFor(plain.GetId(), statusRunning, time.Minute)
	_, err = e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: plain.GetId(), Files: example(t, "manifest-blog-postgres")}, e.token))
	wantCode(t, err, connect.CodeFailedPrecondition, "needs a postgres database", "coderunner db create")
	if got := e.get(plain.GetId()); got.GetRevision() != 1 || got.GetStatus() != statusRunning {
		t.Errorf("after the refused redeploy the deployment is revision %d, %v", got.GetRevision(), got.GetStatus())
	}
}
