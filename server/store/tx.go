package store

import (
	"context"

	"github.com/uptrace/bun"
)

// A request that changes several domains (a secret and the release it
// makes; any change and its audit event) must commit all of it or none.
// Tx carries one transaction in the context so that each domain, writing
// through Tx and reading through DB, joins the caller's transaction
// instead of opening its own.

type txKey struct{}

type commitHookKey struct{}

// CommitHook runs inside a transaction Tx began, after its work succeeded
// and before it commits; an error rolls the transaction back.
type CommitHook func(ctx context.Context, tx bun.IDB) error

// WithCommitHook returns ctx with hook added: every transaction Tx begins
// under the returned context runs it before committing.
func WithCommitHook(ctx context.Context, hook CommitHook) context.Context {
	hooks, _ := ctx.Value(commitHookKey{}).([]CommitHook)
	return context.WithValue(ctx, commitHookKey{}, append(hooks[:len(hooks):len(hooks)], hook))
}

// Tx runs fn in a transaction. When ctx carries one (fn runs inside an
// outer Tx), fn joins it and the outer Tx commits; otherwise Tx begins
// one on db, hands fn a context that carries it, runs the commit hooks
// and commits when fn returns nil. Nothing that waits on another
// transaction's writes, or starts work that outlives fn, belongs in fn: on
// SQLite the transaction holds the database's write lock.
func Tx(ctx context.Context, db bun.IDB, fn func(ctx context.Context, tx bun.IDB) error) error {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return fn(ctx, tx)
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ctx = context.WithValue(ctx, txKey{}, tx)
		if err := fn(ctx, tx); err != nil {
			return err
		}
		hooks, _ := ctx.Value(commitHookKey{}).([]CommitHook)
		for _, hook := range hooks {
			if err := hook(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
}

// DB returns the transaction ctx carries, else db. Reads inside a Tx go
// through it to see the transaction's own writes; a single-statement
// write goes through it to join the caller's transaction when there is
// one (use Tx for a write that must run the commit hooks).
func DB(ctx context.Context, db bun.IDB) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return db
}

// InTx reports whether ctx carries a transaction.
func InTx(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(bun.Tx)
	return ok
}
