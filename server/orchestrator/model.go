package orchestrator

import (
	"time"

	"github.com/coderunner/coderunner/server/autoscale"

	"github.com/uptrace/bun"
)

// Status is a deployment's lifecycle status as stored.
type Status string

// The lifecycle statuses as the deployments table stores them; the API
// shows them as DEPLOYMENT_STATUS_*.
const (
	StatusPending      Status = "pending"
	StatusProvisioning Status = "provisioning"
	StatusBuilding     Status = "building"
	StatusRunning      Status = "running"
	StatusStopped      Status = "stopped"
	StatusFailed       Status = "failed"
	StatusDestroyed    Status = "destroyed"
	// StatusIdle is asleep under a min-0 autoscale policy; a request wakes it.
	StatusIdle Status = "idle"
)

// inProgress reports whether a deploy is under way in s: after a server
// crash such a deployment is retried.
func (s Status) inProgress() bool {
	return s == StatusPending || s == StatusProvisioning || s == StatusBuilding
}

// Deployment is a row of the deployments table.
type Deployment struct {
	bun.BaseModel `bun:"table:deployments"`

	ID            string            `bun:"id,pk"`
	OwnerID       string            `bun:"owner_id,notnull"`
	Name          string            `bun:"name,notnull"`
	Slug          string            `bun:"slug,notnull"`
	Runtime       string            `bun:"runtime,notnull"`
	Status        Status            `bun:"status,notnull"`
	StatusReason  string            `bun:"status_reason,notnull"`
	Env           map[string]string `bun:"env,type:text,notnull"`
	Replicas      int               `bun:"replicas,notnull"`
	CPUMillicores int               `bun:"cpu_millicores,notnull"`
	MemoryBytes   int64             `bun:"memory_bytes,notnull"`
	SourceDigest  string            `bun:"source_digest,notnull"`
	Revision      int64             `bun:"revision,notnull"`
	RestartCount  int               `bun:"restart_count,notnull"`
	CreatedAt     time.Time         `bun:"created_at,notnull"`
	UpdatedAt     time.Time         `bun:"updated_at,notnull"`
	StartedAt     *time.Time        `bun:"started_at"`
	// Node is the server that runs the deployment.
	Node string `bun:"node,notnull"`
	// ReplacementFailed is set while the deployment serves on after its
	// replacement failed (see keepPrevious); any other status change
	// clears it.
	ReplacementFailed bool `bun:"replacement_failed,notnull"`
	// ProjectID is the project the deployment belongs to.
	ProjectID string `bun:"project_id,notnull"`
	// Release is the number of the deployment's current release: the one
	// it runs, or runs once the deploy under way is done.
	Release int64 `bun:"release_number,notnull"`
	// Autoscale, when set, has CodeRunner set Replicas from load.
	Autoscale *autoscale.Policy `bun:"autoscale,type:text"`
}

// Event is a row of the deployment_events table: one status change.
type Event struct {
	bun.BaseModel `bun:"table:deployment_events"`

	ID             string    `bun:"id,pk"`
	DeploymentID   string    `bun:"deployment_id,notnull"`
	Status         Status    `bun:"status,notnull"`
	PreviousStatus Status    `bun:"previous_status,notnull"`
	Reason         string    `bun:"reason,notnull"`
	CreatedAt      time.Time `bun:"created_at,notnull"`
}
