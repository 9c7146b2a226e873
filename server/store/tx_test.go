package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/uptrace/bun"
)

// TestTxJoinsAndHooks: a Tx inside a Tx joins it (one commit, one run of
// the hooks), reads through DB see the open transaction's writes, and a
// failing hook rolls everything back.
func TestTxJoinsAndHooks(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			conn := openBare(t, db)
			if _, err := conn.ExecContext(ctx, "CREATE TABLE tx_probe (v TEXT NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = conn.ExecContext(context.Background(), "DROP TABLE tx_probe") })
			insert := func(ctx context.Context, v string) error {
				return store.Tx(ctx, conn, func(ctx context.Context, tx bun.IDB) error {
					_, err := tx.ExecContext(ctx, "INSERT INTO tx_probe (v) VALUES (?)", v)
					return err
				})
			}
			count := func(ctx context.Context) int {
				var n int
				if err := store.DB(ctx, conn).NewRaw("SELECT COUNT(*) FROM tx_probe").Scan(ctx, &n); err != nil {
					t.Fatal(err)
				}
				return n
			}

			hooks := 0
			hooked := store.WithCommitHook(ctx, func(ctx context.Context, tx bun.IDB) error {
				hooks++
				_, err := tx.ExecContext(ctx, "INSERT INTO tx_probe (v) VALUES ('hook')")
				return err
			})
			err := store.Tx(hooked, conn, func(ctx context.Context, _ bun.IDB) error {
				if err := insert(ctx, "a"); err != nil {
					return err
				}
				if err := insert(ctx, "b"); err != nil {
					return err
				}
				if !store.InTx(ctx) || count(ctx) != 2 {
					t.Errorf("inside the transaction: InTx %v, %d rows; want true, 2", store.InTx(ctx), count(ctx))
				}
				return nil
			})
			if err != nil || hooks != 1 || count(ctx) != 3 {
				t.Fatalf("nested Tx: err %v, %d hook runs, %d rows; want nil, 1, 3 (a, b, hook)", err, hooks, count(ctx))
			}

			failing := store.WithCommitHook(ctx, func(context.Context, bun.IDB) error { return errors.New("hook refused") })
			if err := insert(failing, "c"); err == nil || err.Error() != "hook refused" {
				t.Fatalf("failing hook: err %v, want hook refused", err)
			}
			if n := count(ctx); n != 3 {
				t.Fatalf("after a failing hook %d rows, want 3: the write must roll back", n)
			}
		})
	}
}
