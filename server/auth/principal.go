package auth

import "context"

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the authenticated caller, if any.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// MustPrincipal returns the authenticated caller. Handlers of non-public
// procedures call it: the interceptor guarantees a principal, so a missing
// one is a wiring bug and panics (the recovery interceptor answers Internal).
func MustPrincipal(ctx context.Context) *Principal {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		panic("auth: no principal in context; is the procedure wrongly listed as public?")
	}
	return p
}
