package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"time"

	"github.com/uptrace/bun"
)

// ReleaseKind says what made a release.
type ReleaseKind string

// The kinds of release, as the deployment_releases table stores them.
const (
	ReleaseDeploy   ReleaseKind = "deploy"
	ReleaseRedeploy ReleaseKind = "redeploy"
	ReleaseConfig   ReleaseKind = "config"
	ReleaseRollback ReleaseKind = "rollback"
)

// DefaultKeepReleases is how many releases keep their source and build
// when Config.KeepReleases is 0.
const DefaultKeepReleases = 10

// Release is a row of deployment_releases: what one deploy, redeploy,
// configuration change or rollback runs. It is written once and never
// changed, except that Pruned is set once its source and build are
// no longer kept.
type Release struct {
	bun.BaseModel `bun:"table:deployment_releases,alias:r"`

	DeploymentID string      `bun:"deployment_id,pk"`
	Number       int64       `bun:"number,pk"`
	Kind         ReleaseKind `bun:"kind,notnull"`
	Description  string      `bun:"description,notnull"`
	SourceDigest string      `bun:"source_digest,notnull"`
	// BuildKey is the key of the cached node_modules the release runs
	// with; "" when it has no dependencies to install (a manifest app).
	BuildKey string `bun:"build_key,notnull"`
	// Env is the release's env vars, in full: they are not secret.
	Env map[string]string `bun:"env,type:text,notnull"`
	// SecretVersions names the version of each secret the release runs
	// with, never a value.
	SecretVersions map[string]int64 `bun:"secret_versions,type:text,notnull"`
	CPUMillicores  int              `bun:"cpu_millicores,notnull"`
	MemoryBytes    int64            `bun:"memory_bytes,notnull"`
	// RollbackOf is the release a rollback went back to; 0 otherwise.
	RollbackOf int64     `bun:"rollback_of,notnull"`
	CreatedBy  string    `bun:"created_by,notnull"`
	CreatedAt  time.Time `bun:"created_at,notnull"`
	// Pruned is set once the release is older than the kept ones: its
	// source and build may be gone, and it cannot be rolled back to.
	Pruned bool `bun:"pruned,notnull"`

	// CreatedByEmail is the email of CreatedBy, filled by Releases.
	CreatedByEmail string `bun:"created_by_email,scanonly"`
}

// ConfigVersion identifies the release's configuration (env values and
// secret versions, not their values) by a short digest: two releases with
// the same one run with the same configuration.
func (r *Release) ConfigVersion() string {
	env, _ := json.Marshal(r.Env) // maps marshal with sorted keys
	versions, _ := json.Marshal(r.SecretVersions)
	sum := sha256.New()
	sum.Write(env)
	sum.Write([]byte{0})
	sum.Write(versions)
	return hex.EncodeToString(sum.Sum(nil))[:12]
}

// configure gives d the release's configuration: its env vars and
// limits. (Its secret versions live in the SecretSource.)
func (r *Release) configure(d *Deployment) {
	d.Env = maps.Clone(r.Env)
	d.CPUMillicores, d.MemoryBytes = r.CPUMillicores, r.MemoryBytes
}

// releaseDraft is what a change knows of the release it makes before the
// row it stamps is loaded: why, by whom, the build and the secret
// versions.
type releaseDraft struct {
	kind           ReleaseKind
	description    string
	actor          string
	buildKey       string
	secretVersions map[string]int64
	rollbackOf     int64
	// prepare, when set, runs in the transaction that records the
	// release, before it: what must change with the release or not at all
	// (a rollback's secrets).
	prepare func(ctx context.Context) error
}

// stamp makes the draft the next release of d as d now is (its source,
// env and limits) and makes it d's current release.
func (r *releaseDraft) stamp(d *Deployment, now time.Time) *Release {
	d.Release++
	versions := r.secretVersions
	if versions == nil {
		versions = map[string]int64{}
	}
	env := maps.Clone(d.Env)
	if env == nil {
		env = map[string]string{}
	}
	return &Release{
		DeploymentID:   d.ID,
		Number:         d.Release,
		Kind:           r.kind,
		Description:    r.description,
		SourceDigest:   d.SourceDigest,
		BuildKey:       r.buildKey,
		Env:            env,
		SecretVersions: versions,
		CPUMillicores:  d.CPUMillicores,
		MemoryBytes:    d.MemoryBytes,
		RollbackOf:     r.rollbackOf,
		CreatedBy:      r.actor,
		CreatedAt:      now,
	}
}
