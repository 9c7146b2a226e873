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
	// Create inserts a new deployment, its first event and its first
	// release in one transaction. A slug already in use is ErrSlugTaken,
	// a live deployment of the owner with the same name ErrNameTaken.
	Create(ctx context.Context, d *Deployment, first *Event, release *Release) error
	// Transition loads deployment id, lets change mutate it and return
	// the event that records the change and the release it makes (nil
	// for none), and persists them in one transaction. A change that sets
	// an earlier release number discards the releases after it: they
	// never served.
	Transition(ctx context.Context, id string, change func(d *Deployment) (*Event, *Release)) (*Deployment, error)
	// Update writes the named columns of d (and updated_at) and, when
	// release is not nil, inserts it and writes d's release number, in
	// one transaction.
	Update(ctx context.Context, d *Deployment, release *Release, columns ...string) error
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
	// InTx runs fn in one transaction with every store write fn makes
	// through its context (the secrets' too): all commit or none.
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
	// Releases returns up to limit releases of deployment id from
	// offset, newest first, with CreatedByEmail filled.
	Releases(ctx context.Context, id string, offset, limit int) ([]Release, error)
	// Release returns release number of deployment id, or ErrNoRelease.
	Release(ctx context.Context, id string, number int64) (*Release, error)
	// PruneReleases marks the releases of deployment id numbered below
	// below as pruned and returns those it marked now.
	PruneReleases(ctx context.Context, id string, below int64) ([]Release, error)
	// KeptReleases lists the releases that are not pruned of node's live
	// deployments of ownerID.
	KeptReleases(ctx context.Context, node, ownerID string) ([]Release, error)
	// SourcesInUse lists the source digests live deployments name, and
	// those of their releases that are not pruned.
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
	ErrNoRelease    = errors.New("no such release")
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
