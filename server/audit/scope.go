package audit

import (
	"context"
	"sync"

	"github.com/coderunner/coderunner/server/store"
	"github.com/uptrace/bun"
)

// Scope is the audit event of one call while the call runs. The first
// transaction the call commits through store.Tx carries the event; a call
// that commits none (it failed, or changed nothing stored) has its event
// written by Finish.
type Scope struct {
	svc *Service

	mu      sync.Mutex
	event   Event
	written bool // the event is in a committed (or committing) transaction
	done    bool
}

type scopeKey struct{}

// Begin opens the scope of a call described by e (its Code and ID are
// set when it is written) and returns the context the call runs in.
func (s *Service) Begin(ctx context.Context, e Event) (context.Context, *Scope) {
	sc := &Scope{svc: s, event: e}
	ctx = context.WithValue(ctx, scopeKey{}, sc)
	return store.WithCommitHook(ctx, sc.commitHook), sc
}

func scopeOf(ctx context.Context) *Scope {
	sc, _ := ctx.Value(scopeKey{}).(*Scope)
	return sc
}

// SetTarget names what the call under ctx acts on, when only the domain
// knows it (the id of what a Create makes). Outside a call it does
// nothing.
func SetTarget(ctx context.Context, targetType, id string) {
	if sc := scopeOf(ctx); sc != nil {
		sc.mu.Lock()
		sc.event.TargetType, sc.event.TargetID = targetType, id
		sc.mu.Unlock()
	}
}

// SetActor names the account of a call made without credentials (sign-in,
// registration) once it is known. Outside a call it does nothing.
func SetActor(ctx context.Context, userID, tokenID string) {
	if sc := scopeOf(ctx); sc != nil {
		sc.mu.Lock()
		sc.event.UserID, sc.event.TokenID = userID, tokenID
		sc.mu.Unlock()
	}
}

// commitHook writes the event into the call's first transaction.
func (sc *Scope) commitHook(ctx context.Context, tx bun.IDB) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.written || sc.done {
		return nil
	}
	e := sc.event
	e.Code = OK
	if err := sc.svc.insert(ctx, tx, &e); err != nil {
		return err
	}
	sc.event.ID, sc.written = e.ID, true
	return nil
}

// Finish records the call's outcome: code is OK or the error's Connect
// code. An event already written with the change is marked failed if the
// call failed after it; otherwise the event is written now, in a
// transaction of its own (nothing else changed with it).
func (sc *Scope) Finish(ctx context.Context, code, message string) error {
	sc.mu.Lock()
	sc.done = true
	e, written := sc.event, sc.written
	sc.mu.Unlock()
	ctx = context.WithoutCancel(ctx)
	if written && code == OK {
		sc.svc.notify()
		return nil
	}
	e.Code, e.Message = code, message
	if written {
		if marked, err := sc.svc.markFailed(ctx, &e); err != nil || marked {
			return err
		}
		// Its transaction did not commit: the event is written anew.
	}
	return sc.svc.Record(ctx, &e)
}
