package auth

import (
	"time"

	"github.com/uptrace/bun"
)

// User is a row of the users table.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID           string    `bun:"id,pk"`
	Email        string    `bun:"email,notnull"`
	PasswordHash string    `bun:"password_hash,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// session is a row of the sessions table: one per Login.
type session struct {
	bun.BaseModel `bun:"table:sessions"`

	ID        string     `bun:"id,pk"`
	UserID    string     `bun:"user_id,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	RevokedAt *time.Time `bun:"revoked_at"`
}

// APIToken is a row of the api_tokens table.
type APIToken struct {
	bun.BaseModel `bun:"table:api_tokens"`

	ID         string     `bun:"id,pk"`
	UserID     string     `bun:"user_id,notnull"`
	Name       string     `bun:"name,notnull"`
	Prefix     string     `bun:"prefix,notnull"`
	SecretHash string     `bun:"secret_hash,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	LastUsedAt *time.Time `bun:"last_used_at"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

// Principal is the authenticated caller of an RPC.
type Principal struct {
	User User
	// SessionID is set when the caller used a session token from Login.
	SessionID string
	// TokenID is set when the caller used a personal API token.
	TokenID string
	// ExpiresAt is when the credential stops working; nil if never.
	ExpiresAt *time.Time
}
