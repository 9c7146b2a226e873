package sqlstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/orchestrator/sqlstore"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/google/uuid"
)

const owner = "01a00000-0000-7000-8000-000000000001"

// open returns a Store on a fresh database of each kind the machine has.
func open(t *testing.T, run func(t *testing.T, s *sqlstore.Store, url string)) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			bdb, err := store.Open(ctx, db.URL, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bdb.Close() })
			now := time.Now()
			if _, err := bdb.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, 'a@example.com', 'x', ?, ?)`, owner, now, now); err != nil {
				t.Fatal(err)
			}
			run(t, sqlstore.New(bdb), db.URL)
		})
	}
}

func newDeployment(name, slug string) (*orchestrator.Deployment, *orchestrator.Event) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	d := &orchestrator.Deployment{
		ID: uuid.Must(uuid.NewV7()).String(), OwnerID: owner, Name: name, Slug: slug,
		Runtime: "nodejs", Status: orchestrator.StatusPending, StatusReason: "queued",
		Env: map[string]string{}, Replicas: 1, SourceDigest: "sha256-" + name, Revision: 1,
		Node: "n1", CreatedAt: now, UpdatedAt: now,
	}
	e := &orchestrator.Event{ID: uuid.Must(uuid.NewV7()).String(), DeploymentID: d.ID, Status: d.Status, Reason: d.StatusReason, CreatedAt: now}
	return d, e
}

func TestCreateIsOneTransaction(t *testing.T) {
	open(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		ctx := context.Background()
		d, e := newDeployment("web", "web-aaaaaa")
		if err := s.Create(ctx, d, e, nil); err != nil {
			t.Fatal(err)
		}
		if events, err := s.Events(ctx, d.ID, 0, 10); err != nil || len(events) != 1 || events[0].ID != e.ID {
			t.Fatalf("events = %v, %v; want the first event", events, err)
		}

		// An event that cannot be stored takes its deployment with it.
		d2, _ := newDeployment("api", "api-bbbbbb")
		err := s.Create(ctx, d2, &orchestrator.Event{ID: e.ID, DeploymentID: d2.ID, Status: d2.Status, CreatedAt: d2.CreatedAt}, nil)
		if err == nil {
			t.Fatal("Create with a duplicate event id succeeded")
		}
		if _, err := s.Get(ctx, d2.ID); !errors.Is(err, orchestrator.ErrNoDeployment) {
			t.Fatalf("Get after a failed Create = %v, want ErrNoDeployment (half-applied)", err)
		}

		clash, ce := newDeployment("other", "web-aaaaaa")
		if err := s.Create(ctx, clash, ce, nil); !errors.Is(err, orchestrator.ErrSlugTaken) {
			t.Fatalf("Create with a taken slug = %v, want ErrSlugTaken", err)
		}
		same, se := newDeployment("web", "web-cccccc")
		if err := s.Create(ctx, same, se, nil); !errors.Is(err, orchestrator.ErrNameTaken) {
			t.Fatalf("Create with a taken name = %v, want ErrNameTaken", err)
		}
	})
}

func TestTransition(t *testing.T) {
	open(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		ctx := context.Background()
		d, e := newDeployment("web", "web-aaaaaa")
		if err := s.Create(ctx, d, e, nil); err != nil {
			t.Fatal(err)
		}
		next := &orchestrator.Event{ID: uuid.Must(uuid.NewV7()).String(), DeploymentID: d.ID,
			Status: orchestrator.StatusRunning, PreviousStatus: orchestrator.StatusPending, Reason: "ready", CreatedAt: time.Now()}
		got, err := s.Transition(ctx, d.ID, func(d *orchestrator.Deployment) (*orchestrator.Event, *orchestrator.Release) {
			d.Status, d.StatusReason = orchestrator.StatusRunning, "ready"
			return next, nil
		})
		if err != nil || got.Status != orchestrator.StatusRunning {
			t.Fatalf("Transition = %+v, %v", got, err)
		}
		stored, err := s.Get(ctx, d.ID)
		if err != nil || stored.Status != orchestrator.StatusRunning || stored.StatusReason != "ready" {
			t.Fatalf("Get after Transition = %+v, %v", stored, err)
		}
		if ev, err := s.Event(ctx, next.ID); err != nil || ev.PreviousStatus != orchestrator.StatusPending {
			t.Fatalf("Event = %+v, %v", ev, err)
		}
		if events, _ := s.Events(ctx, d.ID, 0, 10); len(events) != 2 || events[0].ID != next.ID {
			t.Fatalf("events newest first = %v", events)
		}
		if _, err := s.Transition(ctx, uuid.NewString(), func(*orchestrator.Deployment) (*orchestrator.Event, *orchestrator.Release) { return next, nil }); !errors.Is(err, orchestrator.ErrNoDeployment) {
			t.Fatalf("Transition of a missing deployment = %v, want ErrNoDeployment", err)
		}
		if n, err := s.CountRestart(ctx, d.ID, time.Now()); err != nil || n != 1 {
			t.Fatalf("CountRestart = %d, %v", n, err)
		}
		if n, _ := s.CountRestart(ctx, d.ID, time.Now()); n != 2 {
			t.Fatalf("second CountRestart = %d", n)
		}
	})
}

func TestQueries(t *testing.T) {
	open(t, func(t *testing.T, s *sqlstore.Store, _ string) {
		ctx := context.Background()
		var ids []string
		for _, name := range []string{"a_b", "axb", "gone"} {
			d, e := newDeployment(name, name+"-slug00")
			if err := s.Create(ctx, d, e, nil); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, d.ID)
		}
		gone, _ := s.Get(ctx, ids[2])
		gone.Status = orchestrator.StatusDestroyed
		if err := s.Update(ctx, gone, nil, "status"); err != nil {
			t.Fatal(err)
		}
		// "_" is a LIKE wildcard: the filter must match it literally.
		list, total, err := s.List(ctx, owner, orchestrator.ListFilter{Name: "a_"}, 0, 10)
		if err != nil || total != 1 || list[0].Name != "a_b" {
			t.Fatalf("List(name a_) = %v, %d, %v; want only a_b", list, total, err)
		}
		if _, total, _ := s.List(ctx, owner, orchestrator.ListFilter{}, 0, 1); total != 2 {
			t.Fatalf("List total = %d, want 2 live", total)
		}
		if n, _ := s.CountLive(ctx, owner); n != 2 {
			t.Fatalf("CountLive = %d", n)
		}
		if live, _ := s.IDs(ctx, owner); len(live) != 2 || slices.Contains(live, ids[2]) {
			t.Fatalf("IDs = %v", live)
		}
		if _, err := s.BySlug(ctx, "gone-slug00"); !errors.Is(err, orchestrator.ErrNoDeployment) {
			t.Fatalf("BySlug of a destroyed deployment = %v", err)
		}
		if d, err := s.BySlug(ctx, "axb-slug00"); err != nil || d.ID != ids[1] {
			t.Fatalf("BySlug = %v, %v", d, err)
		}
		counts, _ := s.CountByStatus(ctx, "", "n1")
		if len(counts) != 1 || counts[0] != (orchestrator.StatusCount{Status: orchestrator.StatusPending, Count: 2}) {
			t.Fatalf("CountByStatus = %v", counts)
		}
		if on, _ := s.OnNode(ctx, "n1", "", orchestrator.StatusRunning); len(on) != 0 {
			t.Fatalf("OnNode(running) = %v", on)
		}
		if on, _ := s.OnNode(ctx, "n1", owner); len(on) != 2 {
			t.Fatalf("OnNode = %v", on)
		}
		if known, _ := s.Known(ctx, []string{ids[0], uuid.NewString()}); !slices.Equal(known, ids[:1]) {
			t.Fatalf("Known = %v", known)
		}
		if digests, _ := s.SourcesInUse(ctx); len(digests) != 2 || slices.Contains(digests, "sha256-gone") {
			t.Fatalf("SourcesInUse = %v", digests)
		}
	})
}

func TestAnnounce(t *testing.T) {
	open(t, func(t *testing.T, s *sqlstore.Store, url string) {
		if url == "" {
			if err := s.Announce(context.Background(), "n1 x"); err != nil {
				t.Fatalf("Announce on SQLite = %v, want a no-op", err)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		got := make(chan string, 8)
		go store.Listen(ctx, url, []string{orchestrator.EventsChannel}, func(_, payload string) { got <- payload },
			slog.New(slog.NewTextHandler(io.Discard, nil)))
		// Listen connects in the background: announce until it hears.
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case p := <-got:
				if p != "n1 event-1" {
					t.Fatalf("heard %q", p)
				}
				return
			case <-tick.C:
				if err := s.Announce(ctx, "n1 event-1"); err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatal("no announcement heard")
			}
		}
	})
}
