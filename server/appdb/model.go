package appdb

import (
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Engine names a kind of database server.
type Engine string

// The engines.
const (
	EnginePostgres Engine = "postgres"
	EngineRedis    Engine = "redis"
)

// known reports whether e is an engine the service can make.
func (e Engine) known() bool { return e == EnginePostgres || e == EngineRedis }

// row is a row of deployment_databases.
type row struct {
	bun.BaseModel `bun:"table:deployment_databases"`

	DeploymentID string `bun:"deployment_id,pk"`
	Engine       Engine `bun:"engine,pk"`
	Name         string `bun:"name,notnull"`
	// Role is the login role the app connects as now: <name>_<n>, the
	// n-th credentials (a rotation makes the next).
	Role            string    `bun:"role,notnull"`
	KeyID           string    `bun:"key_id,notnull"`
	Ciphertext      string    `bun:"ciphertext,notnull"`
	ConnectionLimit int       `bun:"connection_limit,notnull"`
	CreatedAt       time.Time `bun:"created_at,notnull"`
	// ReadOnly is set while the database is over its size quota.
	ReadOnly bool `bun:"read_only,notnull"`
}

// Database is what may be known of a deployment's database without its
// password.
type Database struct {
	DeploymentID    string
	Engine          Engine
	Name            string
	User            string
	ConnectionLimit int
	CreatedAt       time.Time
	Usage           Usage
	// ReadOnly is set while it is over its size quota, MaxBytes.
	ReadOnly bool
	MaxBytes int64
	// URL is DATABASE_URL as the app sees it, the password redacted.
	URL string
}

// nameFor is the database's (and its owner role's) name for deployment
// id: fixed by the id, so a database left by a crash is found again.
func nameFor(id string) string {
	return "app_" + strings.ReplaceAll(id, "-", "")
}

// sealScope is the additional data's scope of a deployment's database
// passwords, apart from its secrets'.
func sealScope(deploymentID string) string { return "database:" + deploymentID }

// forwardHost is where the app reaches its databases, inside its sandbox.
const forwardHost = "127.0.0.1"
