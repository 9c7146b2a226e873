package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
)

// Deployments made before releases existed get release 1, what they run
// now (source, env, limits and secret versions), and their current secret
// values become version rows a rollback can restore; destroyed ones get
// none.
func TestLiveDeploymentsGetTheirFirstRelease(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			conn := openBefore(t, db, "20261206000010")
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now().UTC()
			_, err := conn.ExecContext(ctx, "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u1', 'u1@example.com', 'x', ?, ?)", now, now)
			must(err)
			for _, d := range [][2]string{{"live", "running"}, {"gone", "destroyed"}} {
				_, err := conn.ExecContext(ctx, `INSERT INTO deployments (id, owner_id, name, slug, runtime, status, env, source_digest, cpu_millicores, memory_bytes, created_at, updated_at)
    VALUES (?, 'u1', ?, ?, 'nodejs', ?, '{"MODE":"prod"}', 'sha256-abc', 500, 268435456, ?, ?)`, d[0], d[0], d[0]+"-slug", d[1], now, now)
				must(err)
			}
			_, err = conn.ExecContext(ctx, `INSERT INTO deployment_secrets (deployment_id, name, key_id, ciphertext, version, updated_by, created_at, updated_at)
    VALUES ('live', 'API_KEY', 'k1', 'sealed', 3, 'u1', ?, ?)`, now, now)
			must(err)

			must(store.Migrate(ctx, conn))
			var number int64
			var kind, digest, env, versions string
			var cpu, memory int64
			must(conn.QueryRowContext(ctx, `SELECT r.number, r.kind, r.source_digest, r.env, r.secret_versions, r.cpu_millicores, r.memory_bytes
    FROM deployment_releases r JOIN deployments d ON d.id = r.deployment_id AND d.release_number = r.number WHERE r.deployment_id = 'live'`).
				Scan(&number, &kind, &digest, &env, &versions, &cpu, &memory))
			if number != 1 || kind != "deploy" || digest != "sha256-abc" || env != `{"MODE":"prod"}` || versions != `{"API_KEY":3}` || cpu != 500 || memory != 268435456 {
				t.Errorf("live's release = %d %s %s %s %s %d %d", number, kind, digest, env, versions, cpu, memory)
			}
			var sealed string
			must(conn.QueryRowContext(ctx, "SELECT ciphertext FROM deployment_secret_versions WHERE deployment_id = 'live' AND name = 'API_KEY' AND version = 3").Scan(&sealed))
			if sealed != "sealed" {
				t.Errorf("version 3 of API_KEY holds %q", sealed)
			}
			var n int
			must(conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM deployment_releases WHERE deployment_id = 'gone'").Scan(&n))
			if n != 0 {
				t.Errorf("a destroyed deployment got %d releases", n)
			}
		})
	}
}
