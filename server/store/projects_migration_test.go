package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
)

// Deployments made before projects existed move into a default project
// of their owner's, one per owner; users without deployments get theirs
// later, when first needed.
func TestDeploymentsMoveIntoDefaultProjects(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			conn := openBefore(t, db, "20261206000009")
			now := time.Now().UTC()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			for _, u := range []string{"u1", "u2", "u3"} {
				_, err := conn.ExecContext(ctx, "INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)", u, u+"@example.com", now, now)
				must(err)
			}
			for _, d := range [][2]string{{"d1", "u1"}, {"d2", "u1"}, {"d3", "u2"}} {
				_, err := conn.ExecContext(ctx, "INSERT INTO deployments (id, owner_id, name, slug, runtime, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'nodejs', 'running', ?, ?)",
					d[0], d[1], d[0], d[0]+"-slug", now, now)
				must(err)
			}

			must(store.Migrate(ctx, conn))
			projectOf := func(deployment string) (string, string) {
				t.Helper()
				var id, owner string
				must(conn.QueryRowContext(ctx, "SELECT p.id, p.owner_id FROM deployments d JOIN projects p ON p.id = d.project_id WHERE d.id = ? AND p.is_default AND p.name = 'default'", deployment).Scan(&id, &owner))
				return id, owner
			}
			p1, o1 := projectOf("d1")
			p2, _ := projectOf("d2")
			p3, o3 := projectOf("d3")
			if p1 != p2 || o1 != "u1" || o3 != "u2" || p1 == p3 {
				t.Errorf("projects: d1 %s (%s), d2 %s, d3 %s (%s); want u1's two in one, u2's in another", p1, o1, p2, p3, o3)
			}
			var n int
			must(conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM projects WHERE owner_id = 'u3'").Scan(&n))
			if n != 0 {
				t.Errorf("u3, without deployments, has %d projects after the migration", n)
			}
		})
	}
}
