package api_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/uptrace/bun"
)

// TestRollbackFailsWhole: a rollback whose release cannot be recorded
// changes nothing: the secrets stay at their current versions, no release
// is made, and the running revision serves on without a failed request.
func TestRollbackFailsWhole(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			e := newEngine(t, db, testenv.Options{})
			d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "atomic", Files: sharedEnvApp("atomic", "0")})
			e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
			first, second := randomValue(), randomValue()
			e.setSecret(d.GetId(), "API_TOKEN", first)
			e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
			withFirst := e.get(d.GetId()).GetRelease()
			e.setSecret(d.GetId(), "API_TOKEN", second)
			e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
			e.waitForEnv(d, envSeen{Token: second})
			current := e.get(d.GetId()).GetRelease()

			conn, err := store.Open(ctx, e.srv.Config.DatabaseURL, e.srv.Config.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			// With the events table gone, the rollback's status change
			// cannot be recorded.
			renameTable(t, conn, "deployment_events", "deployment_events_away")
			stop := e.watchAvailability(d.GetUrl())
			_, err = e.rollback(d.GetId(), withFirst)
			wantCode(t, err, connect.CodeInternal)
			renameTable(t, conn, "deployment_events_away", "deployment_events")
			time.Sleep(300 * time.Millisecond)
			if bad := failed(stop()); len(bad) > 0 {
				t.Errorf("%d requests failed after the failed rollback, first %v", len(bad), bad[0])
			}

			after := e.get(d.GetId())
			if after.GetStatus() != coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING || after.GetRelease() != current {
				t.Errorf("after the failed rollback: %v release %d, want RUNNING release %d", after.GetStatus(), after.GetRelease(), current)
			}
			if n := len(e.releases(d.GetId())); int64(n) != current {
				t.Errorf("%d releases after the failed rollback, want %d", n, current)
			}
			list, err := e.configClient().ListSecrets(ctx, withToken(&coderunnerv1.ListSecretsRequest{
				Scope: &coderunnerv1.ListSecretsRequest_DeploymentId{DeploymentId: d.GetId()}}, e.token))
			if err != nil || len(list.Msg.GetSecrets()) != 1 || list.Msg.GetSecrets()[0].GetVersion() != 2 {
				t.Errorf("secrets after the failed rollback: %v, %v; want API_TOKEN at version 2", list, err)
			}
			if got := e.envOf(d); got.Token != second {
				t.Errorf("the app runs with %+v after the failed rollback", got)
			}

			// Repaired, the same rollback goes through.
			if _, err := e.rollback(d.GetId(), withFirst); err != nil {
				t.Fatal(err)
			}
			e.waitForEnv(d, envSeen{Token: first})
		})
	}
}

func renameTable(t *testing.T, db *bun.DB, from, to string) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE "+from+" RENAME TO "+to); err != nil {
		t.Fatal(err)
	}
}
