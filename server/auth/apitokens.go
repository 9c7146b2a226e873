package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/coderunner/coderunner/server/audit"
	"github.com/coderunner/coderunner/server/errs"
	"github.com/coderunner/coderunner/server/store"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// maxAPITokensPerUser bounds ListApiTokens and keeps a leaked session from
// minting tokens without end.
const maxAPITokensPerUser = 50

// lastUsedResolution limits last_used_at writes to one per token per
// minute, so API-token traffic does not turn every read into a write.
const lastUsedResolution = time.Minute

// CreateAPIToken creates a token for userID and returns it with its secret.
// expiresIn of zero means the token never expires.
func (s *Service) CreateAPIToken(ctx context.Context, userID, name string, expiresIn time.Duration) (*APIToken, string, error) {
	count, err := store.DB(ctx, s.db).NewSelect().Model((*APIToken)(nil)).
		Where("user_id = ? AND revoked_at IS NULL", userID).Count(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("count tokens: %w", err)
	}
	if count >= maxAPITokensPerUser {
		return nil, "", errs.New(errs.KindResourceExhausted,
			"you already have %d API tokens, the most allowed; revoke one first", maxAPITokensPerUser)
	}
	secret, err := newAPITokenSecret()
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	token := &APIToken{
		ID:         uuid.Must(uuid.NewV7()).String(),
		UserID:     userID,
		Name:       name,
		Prefix:     secret[:apiTokenShownPrefix],
		SecretHash: hashAPITokenSecret(secret),
		CreatedAt:  now,
	}
	if expiresIn > 0 {
		expires := now.Add(expiresIn)
		token.ExpiresAt = &expires
	}
	audit.SetTarget(ctx, "api_token", token.ID)
	if err := store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		_, err := tx.NewInsert().Model(token).Exec(ctx)
		return err
	}); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, "", errs.Field(errs.KindAlreadyExists, "name", "you already have an API token named %q", name)
		}
		return nil, "", fmt.Errorf("insert token: %w", err)
	}
	return token, secret, nil
}

// ListAPITokens returns userID's tokens that are not revoked, newest first.
func (s *Service) ListAPITokens(ctx context.Context, userID string) ([]APIToken, error) {
	var tokens []APIToken
	err := store.DB(ctx, s.db).NewSelect().Model(&tokens).
		Where("user_id = ? AND revoked_at IS NULL", userID).
		Order("created_at DESC", "id DESC").
		Limit(maxAPITokensPerUser).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return tokens, nil
}

// RevokeAPIToken revokes one of userID's tokens.
func (s *Service) RevokeAPIToken(ctx context.Context, userID, id string) error {
	return store.Tx(ctx, s.db, func(ctx context.Context, tx bun.IDB) error {
		res, err := tx.NewUpdate().Model((*APIToken)(nil)).
			Set("revoked_at = ?", s.now()).
			Where("id = ? AND user_id = ? AND revoked_at IS NULL", id, userID).
			Exec(ctx)
		if err != nil {
			return fmt.Errorf("revoke token: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return errs.Field(errs.KindNotFound, "id", "no API token with id %s (it may already be revoked)", id)
		}
		return nil
	})
}

func (s *Service) authenticateAPIToken(ctx context.Context, secret string) (*Principal, error) {
	token := new(APIToken)
	err := store.DB(ctx, s.db).NewSelect().Model(token).Where("secret_hash = ?", hashAPITokenSecret(secret)).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.New(errs.KindUnauthenticated, "invalid API token")
	}
	if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	now := s.now()
	if token.RevokedAt != nil {
		return nil, errs.New(errs.KindUnauthenticated, "API token %q has been revoked", token.Name)
	}
	if token.ExpiresAt != nil && !now.Before(*token.ExpiresAt) {
		return nil, errs.New(errs.KindUnauthenticated, "API token %q expired; create a new one", token.Name)
	}
	if token.LastUsedAt == nil || now.Sub(*token.LastUsedAt) >= lastUsedResolution {
		if _, err := store.DB(ctx, s.db).NewUpdate().Model((*APIToken)(nil)).
			Set("last_used_at = ?", now).Where("id = ?", token.ID).Exec(ctx); err != nil {
			return nil, fmt.Errorf("touch token: %w", err)
		}
	}
	user, err := s.findUser(ctx, token.UserID)
	if err != nil {
		return nil, err
	}
	return &Principal{User: *user, TokenID: token.ID, ExpiresAt: token.ExpiresAt}, nil
}
