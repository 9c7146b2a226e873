package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestPruneKeepsTheRetentionPeriod: events older than the retention go,
// the rest stay.
func TestPruneKeepsTheRetentionPeriod(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			conn, err := store.Open(ctx, db.URL, testenv.DataDir(t))
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
			svc := audit.New(conn, 90*24*time.Hour, func() time.Time { return now })
			for _, age := range []time.Duration{91 * 24 * time.Hour, 89 * 24 * time.Hour, time.Minute} {
				e := &audit.Event{Time: now.Add(-age), UserID: "u1", Action: "/coderunner.v1.ProjectService/CreateProject", Code: audit.OK}
				if err := svc.Record(ctx, e); err != nil {
					t.Fatal(err)
				}
			}
			n, err := svc.Prune(ctx)
			if err != nil || n != 1 {
				t.Fatalf("Prune = %d, %v; want 1 (the 91-day-old event)", n, err)
			}
			left, _, err := svc.List(ctx, "u1", audit.Filter{}, 0, 10)
			if err != nil || len(left) != 2 {
				t.Fatalf("left %d events (%v), want 2", len(left), err)
			}
		})
	}
}
