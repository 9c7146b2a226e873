package orchestrator

import (
	"context"
	"errors"
	"time"
)

// Store is what the lifecycle needs from the database: the deployments
// table and its events. The Manager holds no SQL; sqlstore implements
// Store on bun; a store of another kind implements the same
// methods.
type Store interface {
	// Create inserts a new deployment and its first event in one
	// transaction. A slug already in use is ErrSlugTaken, a live
	// deployment of the owner with the same name ErrNameTaken.
	Create(ctx context.Context, d *Deployment, first *Event) error
	// Transition loads deployment id, lets change mutate it and return
	// the event that records the change, and persists both in one
	// transaction.
	Transition(ctx context.Context, id string, change func(d *Deployment) *Event) (*Deployment, error)
	// Update writes the named columns of d (and updated_at).
	Update(ctx context.Context, d *Deployment, columns ...string) error
	// CountRestart adds one to the deployment's restart count in the
	// database and returns the new count.
	CountRestart(ctx context.Context, id string, now time.Time) (int, error)

	// Get returns deployment id; a missing one is ErrNoDeployment.
	Get(ctx context.Context, id string) (*Deployment, error)
	// GetOwned returns ownerID's deployment id; another owner's is
	// ErrNoDeployment, exactly like a missing one.
	GetOwned(ctx context.Context, ownerID, id string) (*Deployment, error)
	// BySlug returns the live deployment served at slug, or ErrNoDeployment.
	BySlug(ctx context.Context, slug string) (*Deployment, error)
	// List returns one page of ownerID's deployments, newest first, and
	// the total that match.
	List(ctx context.Context, ownerID string, f ListFilter, offset, limit int) ([]Deployment, int, error)
	// CountLive counts ownerID's deployments that are not DESTROYED.
	CountLive(ctx context.Context, ownerID string) (int, error)
	// CountByStatus counts live deployments by status: ownerID's, or with
	// ownerID empty, node's.
	CountByStatus(ctx context.Context, ownerID, node string) ([]StatusCount, error)
	// IDs lists the ids of ownerID's live deployments.
	IDs(ctx context.Context, ownerID string) ([]string, error)
	// OnNode lists node's live deployments of ownerID (all owners when
	// empty) whose status is one of statuses (any when none given).
	OnNode(ctx context.Context, node, ownerID string, statuses ...Status) ([]Deployment, error)
	// Claim gives node every deployment that has no node.
	Claim(ctx context.Context, node string) error
	// SourcesInUse lists the source digests live deployments name.
	SourcesInUse(ctx context.Context) ([]string, error)
	// Known returns those of ids that have a row.
	Known(ctx context.Context, ids []string) ([]string, error)

	// Event returns event id; a missing one is ErrNoEvent.
	Event(ctx context.Context, id string) (*Event, error)
	// Events returns up to limit events of deployment id from offset,
	// newest first.
	Events(ctx context.Context, id string, offset, limit int) ([]Event, error)
	// Announce tells other servers sharing the database that an event was
	// recorded (payload "<node> <event id>", see RelayEvent); a database
	// other servers cannot share does nothing.
	Announce(ctx context.Context, payload string) error
}

// Errors a Store returns.
var (
	ErrNoDeployment = errors.New("no such deployment")
	ErrNoEvent      = errors.New("no such event")
	ErrSlugTaken    = errors.New("slug taken")
	ErrNameTaken    = errors.New("name taken")
)

// ListFilter narrows List.
type ListFilter struct {
	Status  Status // empty: any but destroyed
	Runtime string
	Name    string // substring
	// ProjectID, when set, keeps the project's deployments only.
	ProjectID string
}

// StatusCount is how many deployments have one status.
type StatusCount struct {
	Status Status `bun:"status"`
	Count  int    `bun:"count"`
}
