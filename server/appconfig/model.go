package appconfig

import (
	"time"

	"github.com/uptrace/bun"
)

// secretRow is a row of deployment_secrets.
type secretRow struct {
	bun.BaseModel `bun:"table:deployment_secrets"`

	DeploymentID string    `bun:"deployment_id,pk"`
	Name         string    `bun:"name,pk"`
	KeyID        string    `bun:"key_id,notnull"`
	Ciphertext   string    `bun:"ciphertext,notnull"`
	Version      int64     `bun:"version,notnull"`
	UpdatedBy    string    `bun:"updated_by,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
	UpdatedAt    time.Time `bun:"updated_at,notnull"`
}

// versionRow is a row of deployment_secret_versions: every version of a
// secret a kept release may run with, sealed like the current one.
type versionRow struct {
	bun.BaseModel `bun:"table:deployment_secret_versions"`

	DeploymentID string    `bun:"deployment_id,pk"`
	Name         string    `bun:"name,pk"`
	Version      int64     `bun:"version,pk"`
	KeyID        string    `bun:"key_id,notnull"`
	Ciphertext   string    `bun:"ciphertext,notnull"`
	CreatedBy    string    `bun:"created_by,notnull"`
	CreatedAt    time.Time `bun:"created_at,notnull"`
}

// Secret is what may be known of a secret without its value.
type Secret struct {
	Name      string
	Version   int64
	UpdatedAt time.Time
	// UpdatedBy is the email of the account that set this version.
	UpdatedBy string `bun:"updated_by"`
}
