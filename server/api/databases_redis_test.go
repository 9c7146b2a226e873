package api_test

import (
	"context"
	"os"
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
	"github.com/redis/go-redis/v9"
)

const redisEngine = coderunnerv1.DatabaseEngine_DATABASE_ENGINE_REDIS

// appsRedis returns TEST_REDIS_URL for --apps-redis-url and an admin
// client of it to look at what CodeRunner made there.
func appsRedis(t *testing.T) (string, *redis.Client) {
	t.Helper()
	raw := testenv.Redis(t)
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opts)
	t.Cleanup(func() { _ = admin.Close() })
	return raw, admin
}

// visits GETs the redis-counter's / (a visit) and returns its count.
func (e *engine) visits(d *coderunnerv1.Deployment) (int, string) {
	e.t.Helper()
	got := e.fetchJSON(d, "/")
	n, _ := got["visits"].(float64)
	prefix, _ := got["prefix"].(string)
	return int(n), prefix
}

// TestRedisApp: a Node app with the redis client gets its own Redis
// database with the deployment (CreateDeployment databases), counts
// through REDIS_URL, keeps its keys across a restart and a redeploy,
// exports into another
// deployment's database, rotates credentials with no failed request, and
// its keys and user go with the deployment.
func TestRedisApp(t *testing.T) {
	url, admin := appsRedis(t)
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.AppsRedisURL = url }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "counter", Files: example(t, "redis-counter"),
		Databases: []coderunnerv1.DatabaseEngine{redisEngine}})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	res, err := e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	db := res.Msg.GetDatabase()
	if db.GetEngine() != redisEngine || db.GetUser() != db.GetName()+"_1" ||
		db.GetUrl() != "redis://"+db.GetUser()+":[redacted]@127.0.0.1:6379/0" {
		t.Errorf("the database is %v", db)
	}
	first, prefix := e.visits(d)
	if first < 1 || prefix != db.GetName()+":" {
		t.Fatalf("first visit: %d under %q, want a count under %s:", first, prefix, db.GetName())
	}
	e.waitForLine(d.GetId(), "redis-counter listening, REDIS_URL [secret:REDIS_URL]")

	if _, err := e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.redeploy(d.GetId(), example(t, "redis-counter"))
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	counted, _ := e.visits(d)
	if counted <= first {
		t.Errorf("after a restart and a redeploy the count is %d, was %d", counted, first)
	}

	// Export, and load into another deployment's fresh database.
	dump := e.exportDatabase(d.GetId())
	if !strings.Contains(dump, `"key":"visits"`) || strings.Contains(dump, db.GetName()) {
		t.Fatalf("the export is %s", dump)
	}
	other := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "counter-copy", Files: example(t, "redis-counter"),
		Databases: []coderunnerv1.DatabaseEngine{redisEngine}})
	e.waitFor(other.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	_, err = e.databaseClient().ImportDatabase(ctx, withToken(&coderunnerv1.ImportDatabaseRequest{DeploymentId: other.GetId(), Sql: []byte(dump + "not json\n")}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument, "nothing was imported", "line 2")
	if _, err := e.databaseClient().ImportDatabase(ctx, withToken(&coderunnerv1.ImportDatabaseRequest{DeploymentId: other.GetId(), Sql: []byte(dump)}, e.token)); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.visits(other); n != counted+1 {
		t.Errorf("the copy counts %d, want %d (the imported count and this visit)", n, counted+1)
	}

	// Rotation: no failed request, the old user gone.
	stop := e.watchAvailability(d.GetUrl())
	rotated, err := e.databaseClient().RotateDatabaseCredentials(ctx, withToken(&coderunnerv1.RotateDatabaseCredentialsRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	if user := rotated.Msg.GetDatabase().GetUser(); user != db.GetName()+"_2" {
		t.Errorf("after the rotation the user is %s", user)
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	waitUntil(t, time.Minute, "the old Redis user is deleted", func() bool {
		users, err := admin.Do(ctx, "ACL", "USERS").StringSlice()
		return err == nil && !contains(users, db.GetUser())
	})
	time.Sleep(200 * time.Millisecond)
	if bad := failed(stop()); len(bad) > 0 {
		t.Errorf("%d requests failed during the rotation, first %v", len(bad), bad[0])
	}

	// The database goes with its deployment.
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, time.Minute, "the deleted deployment's keys and user are gone", func() bool {
		keys, err := admin.Keys(ctx, db.GetName()+":*").Result()
		users, uerr := admin.Do(ctx, "ACL", "USERS").StringSlice()
		return err == nil && uerr == nil && len(keys) == 0 && !contains(users, db.GetName()+"_2")
	})
}

// waitUntil polls ok every 50 ms until it holds, or fails the test after
// limit, saying what did not happen.
func waitUntil(t testing.TB, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRedisIsolationAndQuota: an app is refused every key and command
// outside its prefix; a second Redis or an unknown engine is refused;
// over its size quota the database turns read-only (deletes still
// work), says so in the deployment's log, and turns back once smaller.
func TestRedisIsolationAndQuota(t *testing.T) {
	url, _ := appsRedis(t)
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) {
		c.AppsRedisURL, c.DatabaseMaxMiB = url, 1
	}})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "redisprobe", Files: readDir(t, "testdata/redisprobe"),
		Databases: []coderunnerv1.DatabaseEngine{redisEngine}})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	try := func(cmd string, args ...string) map[string]any {
		path := "/try?cmd=" + cmd
		for _, a := range args {
			path += "&arg=" + a
		}
		return e.fetchJSON(d, path)
	}
	for _, c := range [][]string{{"GET", "someone-else:key"}, {"SET", "loose", "x"}, {"KEYS", "*"}, {"SCAN", "0"},
		{"CONFIG", "GET", "maxmemory"}, {"FLUSHALL"}, {"FLUSHDB"}, {"SELECT", "1"}, {"ACL", "LIST"}, {"INFO"}} {
		if got := try(c[0], c[1:]...); got["ok"] != false || !strings.Contains(got["error"].(string), "NOPERM") {
			t.Errorf("%v from the app: %v, want NOPERM", c, got)
		}
	}

	_, err := e.databaseClient().CreateDatabase(ctx, withToken(&coderunnerv1.CreateDatabaseRequest{DeploymentId: d.GetId(), Engine: redisEngine}, e.token))
	wantCode(t, err, connect.CodeAlreadyExists, "already has a redis database")
	_, err = e.databaseClient().CreateDatabase(ctx, withToken(&coderunnerv1.CreateDatabaseRequest{DeploymentId: d.GetId(), Engine: 7}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument, "engine")

	get := func() *coderunnerv1.Database {
		res, err := e.databaseClient().GetDatabase(ctx, withToken(&coderunnerv1.GetDatabaseRequest{DeploymentId: d.GetId()}, e.token))
		if err != nil {
			t.Fatal(err)
		}
		return res.Msg.GetDatabase()
	}
	if db := get(); db.GetReadOnly() || db.GetMaxBytes() != 1<<20 {
		t.Fatalf("a new database: %v", db)
	}
	if got := e.fetchJSON(d, "/fill?kib=1200"); got["ok"] != true {
		t.Fatalf("fill: %v", got)
	}
	if db := get(); !db.GetReadOnly() || db.GetSizeBytes() <= 1<<20 {
		t.Fatalf("over its quota the database is %v", db)
	}
	e.waitForLine(d.GetId(), "database redis is over its 1.0 MiB quota")
	metrics, err := e.metricsClient().GetDeploymentMetrics(ctx, withToken(&coderunnerv1.GetDeploymentMetricsRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	if dbs := metrics.Msg.GetMetrics().GetDatabases(); len(dbs) != 1 || dbs[0].GetEngine() != redisEngine ||
		dbs[0].GetSizeBytes() <= 1<<20 || dbs[0].GetConnections() < 1 || dbs[0].GetMeasuredAt() == nil {
		t.Errorf("MetricsService's databases: %v", dbs)
	}
	if got := try("SET", "x", "y"); got["ok"] != false {
		t.Errorf("a write when read-only: %v", got)
	}
	prefix := get().GetName() + ":"
	if got := try("SET", prefix+"more", "y"); got["ok"] != false || !strings.Contains(got["error"].(string), "NOPERM") {
		t.Errorf("a write under the prefix when read-only: %v", got)
	}
	if got := try("DEL", prefix+"fill"); got["ok"] != true {
		t.Errorf("a delete when read-only: %v", got)
	}
	if db := get(); db.GetReadOnly() {
		t.Errorf("back under its quota the database is still read-only: %v", db)
	}
	e.waitForLine(d.GetId(), "database redis is back under its 1.0 MiB quota")
	if got := try("SET", prefix+"more", "y"); got["ok"] != true {
		t.Errorf("a write once writable again: %v", got)
	}
}

// TestRedisEmbedded: with no --apps-redis-url CodeRunner starts its own
// redis-server on the first Redis database; apps count through it; a
// redis-server killed with SIGKILL makes /api/health degraded until the
// supervisor has it back, and the app counts on from where it was.
func TestRedisEmbedded(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	if got := e.healthCheck("apps_redis"); !strings.Contains(got, "not started") {
		t.Errorf("before any Redis database, apps_redis is %q", got)
	}
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "counter", Files: example(t, "redis-counter"),
		Databases: []coderunnerv1.DatabaseEngine{redisEngine}})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, 2*time.Minute)
	before, _ := e.visits(d)
	if got := e.healthCheck("apps_redis"); got != "ok embedded" {
		t.Errorf("with a Redis database, apps_redis is %q", got)
	}
	pidFile := filepath.Join(e.srv.Config.DataDir, "redis", "data", "redis.pid")
	raw, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	// The counter's last write is on disk before the kill (appendfsync
	// everysec may lose the last second otherwise).
	time.Sleep(2500 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "apps_redis degraded after the kill", func() bool {
		return strings.HasPrefix(e.healthCheck("apps_redis"), "degraded embedded")
	})
	waitUntil(t, time.Minute, "apps_redis ok again", func() bool { return e.healthCheck("apps_redis") == "ok embedded" })
	waitUntil(t, 30*time.Second, "the app counts on after the restart", func() bool {
		status, body := e.fetch(d, "/")
		return status == 200 && strings.Contains(body, `"visits":`+strconv.Itoa(before+1))
	})
}
