package sqlstore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/orchestrator/sqlstore"
	"github.com/google/uuid"
)

func release(d *orchestrator.Deployment, kind orchestrator.ReleaseKind) *orchestrator.Release {
	d.Release++
	return &orchestrator.Release{
		DeploymentID: d.ID, Number: d.Release, Kind: kind, Description: string(kind),
		SourceDigest: d.SourceDigest, BuildKey: "build-" + d.SourceDigest, Env: map[string]string{"N": d.SourceDigest},
		SecretVersions: map[string]int64{"API_KEY": d.Release}, CreatedBy: owner, CreatedAt: time.Now().UTC(),
	}
}

// Releases are written with the change that makes them, listed newest
// first with their author's email, and once pruned no longer hold their
// source in use.
func TestReleases(t *testing.T) {
	open(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		ctx := context.Background()
		d, e := newDeployment("web", "web-rel000")
		if err := s.Create(ctx, d, e, release(d, orchestrator.ReleaseDeploy)); err != nil {
			t.Fatal(err)
		}
		for _, digest := range []string{"sha256-v2", "sha256-v3"} {
			if _, err := s.Transition(ctx, d.ID, func(d *orchestrator.Deployment) (*orchestrator.Event, *orchestrator.Release) {
				d.SourceDigest = digest
				ev := &orchestrator.Event{ID: uuid.Must(uuid.NewV7()).String(), DeploymentID: d.ID, Status: d.Status, Reason: "redeploy", CreatedAt: time.Now()}
				return ev, release(d, orchestrator.ReleaseRedeploy)
			}); err != nil {
				t.Fatal(err)
			}
		}
		stored, _ := s.Get(ctx, d.ID)
		if stored.Release != 3 {
			t.Errorf("current release = %d, want 3", stored.Release)
		}
		list, err := s.Releases(ctx, d.ID, 0, 10)
		if err != nil || len(list) != 3 || list[0].Number != 3 || list[2].Number != 1 || list[0].CreatedByEmail != "a@example.com" {
			t.Fatalf("Releases = %+v, %v", list, err)
		}
		if list[1].SourceDigest != "sha256-v2" || list[1].SecretVersions["API_KEY"] != 2 || list[1].Env["N"] != "sha256-v2" {
			t.Errorf("release 2 = %+v", list[1])
		}
		if _, err := s.Release(ctx, d.ID, 9); !errors.Is(err, orchestrator.ErrNoRelease) {
			t.Errorf("Release(9) = %v, want ErrNoRelease", err)
		}
		inUse, _ := s.SourcesInUse(ctx)
		if !slices.Contains(inUse, "sha256-web") {
			t.Errorf("SourcesInUse = %v: release 1's source is kept", inUse)
		}

		pruned, err := s.PruneReleases(ctx, d.ID, 3)
		if err != nil || len(pruned) != 2 {
			t.Fatalf("PruneReleases = %+v, %v", pruned, err)
		}
		if again, _ := s.PruneReleases(ctx, d.ID, 3); len(again) != 0 {
			t.Errorf("pruning again returned %d releases", len(again))
		}
		if r, _ := s.Release(ctx, d.ID, 1); !r.Pruned {
			t.Error("release 1 is not marked pruned")
		}
		inUse, _ = s.SourcesInUse(ctx)
		if slices.Contains(inUse, "sha256-web") || !slices.Contains(inUse, "sha256-v3") {
			t.Errorf("SourcesInUse after pruning = %v", inUse)
		}
		kept, err := s.KeptReleases(ctx, "n1", owner)
		if err != nil || len(kept) != 1 || kept[0].Number != 3 {
			t.Errorf("KeptReleases = %+v, %v", kept, err)
		}
	})
}
