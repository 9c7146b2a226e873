package audit

import (
	"time"

	"github.com/uptrace/bun"
)

// Event is one audited call. It never holds a secret value or a password:
// Summary names what changed, redacted before it gets here.
type Event struct {
	bun.BaseModel `bun:"table:audit_events"`

	// ID orders events: on both databases an event commits after every
	// event with a lower id (see Service.insert), so a reader that has
	// seen id N has seen everything up to N.
	ID   int64     `bun:"id,pk,autoincrement"`
	Time time.Time `bun:"time,notnull"`
	// UserID is the account the event belongs to: the caller, or for a
	// failed sign-in the account whose email was tried. Empty when there
	// is none (a sign-in attempt for an unknown email).
	UserID string `bun:"user_id,notnull"`
	// TokenID is the API token the call was made with; empty for a
	// session.
	TokenID string `bun:"token_id,notnull"`
	// Action is the procedure: "/coderunner.v1.ConfigService/SetSecret".
	Action     string `bun:"action,notnull"`
	TargetType string `bun:"target_type,notnull"`
	TargetID   string `bun:"target_id,notnull"`
	ClientAddr string `bun:"client_addr,notnull"`
	// Code is the result: "ok" or a Connect code ("not_found").
	Code string `bun:"code,notnull"`
	// Message is the error a failed call returned.
	Message string `bun:"message,notnull"`
	// Summary says what the call asked for, redacted: "name=API_KEY
	// value=[redacted]".
	Summary string `bun:"summary,notnull"`
}

// OK is the Code of a call that succeeded.
const OK = "ok"
