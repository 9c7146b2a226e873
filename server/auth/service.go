// Package auth holds accounts, sessions and personal API tokens: the rules
// and their storage. rpc/authrpc serves them as the AuthService and
// authenticates every other RPC.
package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/store"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Options configures a Service.
type Options struct {
	// JWTSecret signs session tokens.
	JWTSecret []byte
	// SessionTTL is the lifetime of a session token.
	SessionTTL time.Duration
	// LoginMaxFailures and LoginFailureWindow rate-limit failed logins per
	// email and per client address.
	LoginMaxFailures   int
	LoginFailureWindow time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service implements accounts, sessions and API tokens on a database.
type Service struct {
	db      *bun.DB
	secret  []byte
	ttl     time.Duration
	limiter *failureLimiter
	now     func() time.Time
}

// NewService returns a Service storing its state in db.
func NewService(db *bun.DB, opts Options) *Service {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{
		db:      db,
		secret:  opts.JWTSecret,
		ttl:     opts.SessionTTL,
		limiter: newFailureLimiter(opts.LoginMaxFailures, opts.LoginFailureWindow, now),
		// Both databases keep microseconds; truncating here makes a value read
		// back equal the value written.
		now: func() time.Time { return now().UTC().Truncate(time.Microsecond) },
	}
}

// normalizeEmail makes emails case-insensitive: one account per mailbox.
func normalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

var errEmailTaken = errs.Field(errs.KindAlreadyExists, "email", "an account with this email already exists; sign in instead")

// Register creates an account.
func (s *Service) Register(ctx context.Context, email, password string) (*User, error) {
	hash, err := HashPassword(password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	user := &User{
		ID:           uuid.Must(uuid.NewV7()).String(),
		Email:        normalizeEmail(email),
		PasswordHash: hash,
		CreatedAt:    now,
		UpdatedAt:    now,
	}
	err = store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		exists, err := tx.NewSelect().Model((*User)(nil)).Where("email = ?", user.Email).Exists(ctx)
		if err != nil {
			return fmt.Errorf("check email: %w", err)
		}
		if exists {
			return errEmailTaken
		}
		audit.SetActor(ctx, user.ID, "")
		if _, err := tx.NewInsert().Model(user).Exec(ctx); err != nil {
			// Two registrations of one email racing past the check above
			// meet the unique index here.
			if store.IsUniqueViolation(err) {
				return errEmailTaken
			}
			return fmt.Errorf("insert user: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return user, nil
}

// LoginResult is a new session.
type LoginResult struct {
	Token     string
	ExpiresAt time.Time
	User      *User
}

var errBadCredentials = errs.New(errs.KindUnauthenticated, "invalid email or password")

// Login checks credentials and opens a session. clientAddr is the caller's
// network address, used for rate limiting. The error never reveals whether
// the email has an account.
func (s *Service) Login(ctx context.Context, email, password, clientAddr string) (*LoginResult, error) {
	email = normalizeEmail(email)
	emailKey, addrKey := "email:"+email, "addr:"+clientAddr
	if wait := s.limiter.retryAfter(emailKey, addrKey); wait > 0 {
		return nil, errs.New(errs.KindResourceExhausted,
			"too many failed sign-in attempts; try again in %s", roundUp(wait))
	}
	user := new(User)
	err := store.DB(ctx, s.db).NewSelect().Model(user).Where("email = ?", email).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = CheckPassword(dummyHash(), password) // same work as for a real account
		s.limiter.fail(emailKey, addrKey)
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	// The attempt, failed or not, is in this account's audit log.
	audit.SetActor(ctx, user.ID, "")
	ok, err := CheckPassword(user.PasswordHash, password)
	if err != nil {
		return nil, fmt.Errorf("check password: %w", err)
	}
	if !ok {
		s.limiter.fail(emailKey, addrKey)
		return nil, errBadCredentials
	}
	s.limiter.reset(emailKey)

	now := s.now()
	sess := &session{
		ID:        uuid.Must(uuid.NewV7()).String(),
		UserID:    user.ID,
		CreatedAt: now,
		ExpiresAt: now.Add(s.ttl),
	}
	if err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(sess).Exec(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("insert session: %w", err)
	}
	token, err := signSession(s.secret, user.ID, sess.ID, now, sess.ExpiresAt)
	if err != nil {
		return nil, fmt.Errorf("sign session: %w", err)
	}
	return &LoginResult{Token: token, ExpiresAt: sess.ExpiresAt, User: user}, nil
}

// roundUp formats a wait for people: whole minutes, or seconds under one.
func roundUp(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Round(time.Second)/time.Second)+1)
	}
	return fmt.Sprintf("%d minutes", int((d+time.Minute-1)/time.Minute))
}

// Authenticate resolves a bearer token (session JWT or API token) to its
// principal. Expired, forged, revoked and unknown tokens are
// KindUnauthenticated with a message saying which.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if isAPITokenSecret(token) {
		return s.authenticateAPIToken(ctx, token)
	}
	now := s.now()
	claims, err := parseSession(s.secret, token, now)
	if err != nil {
		return nil, err
	}
	sess := new(session)
	err = store.DB(ctx, s.db).NewSelect().Model(sess).Where("id = ?", claims.ID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && sess.UserID != claims.Subject) {
		return nil, errs.New(errs.KindUnauthenticated, "invalid token: its session does not exist")
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	if sess.RevokedAt != nil {
		return nil, errs.New(errs.KindUnauthenticated, "session token has been revoked (signed out or password changed); sign in again")
	}
	user, err := s.findUser(ctx, sess.UserID)
	if err != nil {
		return nil, err
	}
	expires := sess.ExpiresAt
	return &Principal{User: *user, SessionID: sess.ID, ExpiresAt: &expires}, nil
}

func (s *Service) findUser(ctx context.Context, id string) (*User, error) {
	user := new(User)
	err := store.DB(ctx, s.db).NewSelect().Model(user).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.New(errs.KindUnauthenticated, "the account this token belongs to no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return user, nil
}

// ChangePassword replaces the caller's password and revokes the caller's
// other sessions, so a stolen session dies with the old password.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, current, next string) error {
	user, err := s.findUser(ctx, p.User.ID)
	if err != nil {
		return err
	}
	ok, err := CheckPassword(user.PasswordHash, current)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok {
		return errs.Field(errs.KindInvalidArgument, "current_password", "current password is incorrect")
	}
	hash, err := HashPassword(next)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		if _, err := tx.NewUpdate().Model((*User)(nil)).
			Set("password_hash = ?", hash).Set("updated_at = ?", now).
			Where("id = ?", user.ID).Exec(ctx); err != nil {
			return fmt.Errorf("update password: %w", err)
		}
		if _, err := tx.NewUpdate().Model((*session)(nil)).
			Set("revoked_at = ?", now).
			Where("user_id = ? AND revoked_at IS NULL AND id <> ?", user.ID, p.SessionID).
			Exec(ctx); err != nil {
			return fmt.Errorf("revoke sessions: %w", err)
		}
		return nil
	})
}

// Logout revokes the session the caller authenticated with.
func (s *Service) Logout(ctx context.Context, p *Principal) error {
	if p.SessionID == "" {
		return errs.New(errs.KindFailedPrecondition,
			"this call was authenticated with an API token, which has no session to sign out of; revoke the token with RevokeApiToken instead")
	}
	err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewUpdate().Model((*session)(nil)).
			Set("revoked_at = ?", s.now()).
			Where("id = ? AND revoked_at IS NULL", p.SessionID).
			Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}
