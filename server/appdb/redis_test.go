package appdb_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/appdb"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/redis/go-redis/v9"
)

// redisTenant is one provisioned Redis database and a client logged in
// as its login.
type redisTenant struct {
	name, login, password string
	client                *redis.Client
}

func newRedisBackend(t *testing.T) (*appdb.Redis, *redis.Options) {
	t.Helper()
	opts, err := appdb.ParseRedisURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	r := appdb.NewRedis(opts, nil)
	t.Cleanup(func() { _ = r.Close() })
	return r, opts
}

func provisionRedis(t *testing.T, r *appdb.Redis, opts *redis.Options) *redisTenant {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	tn := &redisTenant{name: "app_test" + hex.EncodeToString(b), password: hex.EncodeToString(b) + "pw"}
	tn.login = tn.name + "_1"
	if err := r.Provision(ctx, tn.name, tn.login, tn.password, appdb.Limits{Connections: 5}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Drop(context.Background(), tn.name); err != nil {
			t.Errorf("drop %s: %v", tn.name, err)
		}
	})
	tn.client = loginClient(t, opts, tn.login, tn.password)
	return tn
}

func loginClient(t *testing.T, opts *redis.Options, login, password string) *redis.Client {
	c := redis.NewClient(&redis.Options{Network: opts.Network, Addr: opts.Addr, Username: login, Password: password, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func wantNoPerm(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("%s: got %v, want NOPERM", what, err)
	}
}

// TestRedisIsolation: a login reaches its own prefix only, and none of
// the commands that would show or change the rest of the server.
func TestRedisIsolation(t *testing.T) {
	r, opts := newRedisBackend(t)
	ctx := context.Background()
	a, b := provisionRedis(t, r, opts), provisionRedis(t, r, opts)
	if err := a.client.Set(ctx, a.name+":greeting", "hi", 0).Err(); err != nil {
		t.Fatalf("a writes its own key: %v", err)
	}
	if err := b.client.Set(ctx, b.name+":secret", "b's", 0).Err(); err != nil {
		t.Fatal(err)
	}
	wantNoPerm(t, "read another prefix", a.client.Get(ctx, b.name+":secret").Err())
	wantNoPerm(t, "write outside the prefix", a.client.Set(ctx, "loose", "x", 0).Err())
	wantNoPerm(t, "KEYS *", a.client.Keys(ctx, "*").Err())
	wantNoPerm(t, "SCAN", a.client.Scan(ctx, 0, "*", 10).Err())
	wantNoPerm(t, "RANDOMKEY", a.client.RandomKey(ctx).Err())
	wantNoPerm(t, "CONFIG GET", a.client.ConfigGet(ctx, "*").Err())
	wantNoPerm(t, "FLUSHALL", a.client.FlushAll(ctx).Err())
	wantNoPerm(t, "FLUSHDB", a.client.FlushDB(ctx).Err())
	wantNoPerm(t, "SELECT", a.client.Do(ctx, "SELECT", "1").Err())
	wantNoPerm(t, "ACL LIST", a.client.Do(ctx, "ACL", "LIST").Err())
	wantNoPerm(t, "EVAL on another prefix", a.client.Eval(ctx, "return redis.call('GET', KEYS[1])", []string{b.name + ":secret"}).Err())
	wantNoPerm(t, "SUBSCRIBE outside the prefix", a.client.Do(ctx, "PUBLISH", "news", "x").Err())
	if err := a.client.Publish(ctx, a.name+":news", "x").Err(); err != nil {
		t.Errorf("publish on its own channel: %v", err)
	}
	bad := loginClient(t, opts, a.login, "wrong")
	if err := bad.Ping(ctx).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("a wrong password: %v, want WRONGPASS", err)
	}
}

// TestRedisUsageAndQuota: the size and clients are measured; read-only
// refuses writes to open clients at once but lets the app delete.
func TestRedisUsageAndQuota(t *testing.T) {
	r, opts := newRedisBackend(t)
	ctx := context.Background()
	a := provisionRedis(t, r, opts)
	if err := a.client.Set(ctx, a.name+":big", strings.Repeat("x", 100_000), 0).Err(); err != nil {
		t.Fatal(err)
	}
	all, err := r.DescribeAll(ctx, []string{a.name, "app_missing"})
	if err != nil {
		t.Fatal(err)
	}
	if u := all[a.name]; u.SizeBytes < 100_000 || u.Connections != 1 {
		t.Errorf("usage %+v, want ≥ 100000 bytes and 1 connection", u)
	}
	if _, ok := all["app_missing"]; ok {
		t.Error("a database with no login was measured")
	}
	if err := r.SetReadOnly(ctx, a.name, true); err != nil {
		t.Fatal(err)
	}
	wantNoPerm(t, "write when read-only", a.client.Set(ctx, a.name+":more", "x", 0).Err())
	if err := a.client.Get(ctx, a.name+":big").Err(); err != nil {
		t.Errorf("read when read-only: %v", err)
	}
	// A rotation's next login starts read-only like its sibling.
	if err := r.AddLogin(ctx, a.name, a.name+"_2", "second-password", appdb.Limits{}); err != nil {
		t.Fatal(err)
	}
	second := loginClient(t, opts, a.name+"_2", "second-password")
	wantNoPerm(t, "the next login writes when read-only", second.Set(ctx, a.name+":more", "x", 0).Err())
	if err := a.client.Del(ctx, a.name+":big").Err(); err != nil {
		t.Errorf("delete when read-only: %v", err)
	}
	if err := r.SetReadOnly(ctx, a.name, false); err != nil {
		t.Fatal(err)
	}
	if err := second.Set(ctx, a.name+":more", "x", 0).Err(); err != nil {
		t.Errorf("write once writable again: %v", err)
	}
	wantNoPerm(t, "FLUSHALL once writable again", second.FlushAll(ctx).Err())
}

// TestRedisRotation: removing the old login disconnects its clients and
// refuses it; the new one works.
func TestRedisRotation(t *testing.T) {
	r, opts := newRedisBackend(t)
	ctx := context.Background()
	a := provisionRedis(t, r, opts)
	if err := a.client.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.AddLogin(ctx, a.name, a.name+"_2", "new-password", appdb.Limits{}); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveLoginsExcept(ctx, a.name, a.name+"_2"); err != nil {
		t.Fatal(err)
	}
	if err := a.client.Ping(ctx).Err(); err == nil {
		t.Error("the old login still works after the rotation")
	}
	if err := loginClient(t, opts, a.name+"_2", "new-password").Set(ctx, a.name+":k", "v", 0).Err(); err != nil {
		t.Errorf("the new login: %v", err)
	}
}

// TestRedisExportImport: an export loads into another database with the
// same keys, values and TTLs; a bad line or value loads nothing.
func TestRedisExportImport(t *testing.T) {
	r, opts := newRedisBackend(t)
	ctx := context.Background()
	a, b := provisionRedis(t, r, opts), provisionRedis(t, r, opts)
	c := a.client
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Set(ctx, a.name+":s", "string", 0).Err())
	must(c.Set(ctx, a.name+":ttl", "soon", time.Hour).Err())
	must(c.HSet(ctx, a.name+":h", "f", "v").Err())
	must(c.RPush(ctx, a.name+":l", "1", "2", "3").Err())
	must(c.ZAdd(ctx, a.name+":z", redis.Z{Score: 2, Member: "two"}).Err())
	must(c.Set(ctx, a.name+":\xff\xfe", "binary key", 0).Err())
	var dump bytes.Buffer
	must(r.Export(ctx, a.name, a.login, a.password, &dump))
	if n := strings.Count(dump.String(), "\n"); n != 6 {
		t.Fatalf("export has %d lines, want 6:\n%s", n, dump.String())
	}
	if strings.Contains(dump.String(), a.name) {
		t.Errorf("the export names its prefix: %s", dump.String())
	}
	must(r.Import(ctx, b.name, b.login, b.password, dump.Bytes()))
	bc := b.client
	if v, err := bc.Get(ctx, b.name+":s").Result(); err != nil || v != "string" {
		t.Errorf("s = %q, %v", v, err)
	}
	if ttl := bc.TTL(ctx, b.name+":ttl").Val(); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("ttl's TTL is %v", ttl)
	}
	if v := bc.LRange(ctx, b.name+":l", 0, -1).Val(); strings.Join(v, ",") != "1,2,3" {
		t.Errorf("l = %v", v)
	}
	if v := bc.Get(ctx, b.name+":\xff\xfe").Val(); v != "binary key" {
		t.Errorf("the binary key = %q", v)
	}

	fresh := provisionRedis(t, r, opts)
	badLine := dump.String() + "{\"key\": \"x\"}\n"
	var imp *appdb.ImportError
	if err := r.Import(ctx, fresh.name, fresh.login, fresh.password, []byte(badLine)); !errors.As(err, &imp) || imp.Line != 7 {
		t.Errorf("a line without a dump: %v, want an ImportError on line 7", err)
	}
	badValue := dump.String() + "{\"key\": \"x\", \"ttl_ms\": 0, \"dump\": \"AAAA\"}\n"
	if err := r.Import(ctx, fresh.name, fresh.login, fresh.password, []byte(badValue)); !errors.As(err, &imp) || imp.Line != 7 {
		t.Errorf("a corrupt value: %v, want an ImportError on line 7", err)
	}
	all, err := r.DescribeAll(ctx, []string{fresh.name})
	if err != nil {
		t.Fatal(err)
	}
	if u := all[fresh.name]; u.SizeBytes != 0 {
		t.Errorf("a failed import left %d bytes behind", u.SizeBytes)
	}
}
