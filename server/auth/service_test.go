package auth_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/store"
)

// These tests run the account rules on SQLite, without a server; the
// AuthService's transport is tested through full servers in api.

// clock is a settable clock for expiry and rate-limit windows.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*auth.Service, *clock) {
	t.Helper()
	db, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	return auth.NewService(db, auth.Options{
		JWTSecret:          []byte("test-secret-0123456789abcdef0123456789abcdef"),
		SessionTTL:         time.Hour,
		LoginMaxFailures:   3,
		LoginFailureWindow: time.Minute,
		Now:                c.Now,
	}), c
}

func wantKind(t *testing.T, err error, kind errs.Kind, text string) {
	t.Helper()
	if err == nil || !errs.Is(err, kind) || !strings.Contains(err.Error(), text) {
		t.Fatalf("error %v, want kind %v containing %q", err, kind, text)
	}
}

func TestRegisterAndLogin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newService(t)
	if _, err := s.Register(ctx, "Ada@Example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	_, err := s.Register(ctx, "ada@example.com", "another long password")
	wantKind(t, err, errs.KindAlreadyExists, "an account with this email already exists")

	login, err := s.Login(ctx, "ADA@example.com", "correct horse battery", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, login.Token)
	if err != nil || p.User.Email != "ada@example.com" || p.SessionID == "" {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	_, err = s.Login(ctx, "ada@example.com", "wrong password here", "10.0.0.1")
	wantKind(t, err, errs.KindUnauthenticated, "invalid email or password")
	_, err = s.Login(ctx, "nobody@example.com", "wrong password here", "10.0.0.1")
	wantKind(t, err, errs.KindUnauthenticated, "invalid email or password")

	c.advance(time.Hour + time.Second)
	_, err = s.Authenticate(ctx, login.Token)
	wantKind(t, err, errs.KindUnauthenticated, "")
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newService(t)
	if _, err := s.Register(ctx, "ada@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err := s.Login(ctx, "ada@example.com", "wrong password here", "10.0.0.1")
		wantKind(t, err, errs.KindUnauthenticated, "invalid email or password")
	}
	// Even the right password waits once the limit is reached.
	_, err := s.Login(ctx, "ada@example.com", "correct horse battery", "10.0.0.2")
	wantKind(t, err, errs.KindResourceExhausted, "too many failed sign-in attempts; try again in 1 min")
	c.advance(time.Minute + time.Second)
	if _, err := s.Login(ctx, "ada@example.com", "correct horse battery", "10.0.0.2"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestLogoutAndPasswordChangeRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newService(t)
	if _, err := s.Register(ctx, "ada@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Login(ctx, "ada@example.com", "correct horse battery", "a")
	second, _ := s.Login(ctx, "ada@example.com", "correct horse battery", "a")
	p, err := s.Authenticate(ctx, second.Token)
	if err != nil {
		t.Fatal(err)
	}
	err = s.ChangePassword(ctx, p, "not the password", "a new long password")
	wantKind(t, err, errs.KindInvalidArgument, "current password is incorrect")
	if err := s.ChangePassword(ctx, p, "correct horse battery", "a new long password"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, first.Token)
	wantKind(t, err, errs.KindUnauthenticated, "revoked")
	if _, err := s.Authenticate(ctx, second.Token); err != nil {
		t.Fatalf("the session that changed the password: %v", err)
	}
	if err := s.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, second.Token)
	wantKind(t, err, errs.KindUnauthenticated, "revoked")
}

func TestAPITokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, c := newService(t)
	user, err := s.Register(ctx, "ada@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := s.CreateAPIToken(ctx, user.ID, "ci", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(ctx, secret)
	if err != nil || p.TokenID != tok.ID || p.User.ID != user.ID {
		t.Fatalf("Authenticate(api token) = %+v, %v", p, err)
	}
	wantKind(t, s.Logout(ctx, p), errs.KindFailedPrecondition, "revoke the token with RevokeApiToken")
	if list, _ := s.ListAPITokens(ctx, user.ID); len(list) != 1 || list[0].Name != "ci" {
		t.Fatalf("ListAPITokens = %+v", list)
	}
	other, _ := s.Register(ctx, "bob@example.com", "correct horse battery")
	wantKind(t, s.RevokeAPIToken(ctx, other.ID, tok.ID), errs.KindNotFound, "")

	c.advance(time.Hour + time.Second)
	_, err = s.Authenticate(ctx, secret)
	wantKind(t, err, errs.KindUnauthenticated, "")

	tok2, secret2, _ := s.CreateAPIToken(ctx, user.ID, "deploy", 0)
	if err := s.RevokeAPIToken(ctx, user.ID, tok2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, secret2)
	wantKind(t, err, errs.KindUnauthenticated, "")
}
