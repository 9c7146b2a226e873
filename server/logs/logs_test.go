package logs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// setup opens db and creates a deployment row the lines can belong to.
func setup(t testing.TB, db testenv.Database) (*bun.DB, string) {
	t.Helper()
	conn, err := store.Open(context.Background(), db.URL, testenv.DataDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	user, dep := uuid.NewString(), uuid.NewString()
	now := time.Now().UTC()
	if _, err := conn.NewRaw("INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, ?, 'x', ?, ?)", user, user+"@example.com", now, now).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.NewRaw("INSERT INTO deployments (id, owner_id, name, slug, runtime, status, created_at, updated_at) VALUES (?, ?, 'x', ?, 'nodejs', 'running', ?, ?)", dep, user, dep, now, now).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return conn, dep
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func count(t testing.TB, db *bun.DB, dep string) (n int, minSeq, maxSeq int64) {
	t.Helper()
	var row struct {
		N   int
		Min sql.NullInt64
		Max sql.NullInt64
	}
	if err := db.NewRaw("SELECT COUNT(*) AS n, MIN(seq) AS min, MAX(seq) AS max FROM log_lines WHERE deployment_id = ?", dep).Scan(context.Background(), &row); err != nil {
		t.Fatal(err)
	}
	return row.N, row.Min.Int64, row.Max.Int64
}

// TestRetention keeps the newest lines by count and by size.
func TestRetention(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			conn, dep := setup(t, db)
			svc := logs.New(conn, logs.Options{RetainLines: 500, RetainBytes: 1 << 30, Logger: quiet()})
			for i := 1; i <= 5000; i++ {
				svc.Append(dep, logs.Stdout, logs.Run, 0, fmt.Sprintf("line %d", i), false)
				if i%100 == 0 {
					_ = svc.Flush(context.Background(), dep) // keep below the drop threshold
				}
			}
			svc.Close()
			n, minSeq, maxSeq := count(t, conn, dep)
			if maxSeq != 5000 {
				t.Fatalf("newest seq %d, want 5000", maxSeq)
			}
			// Trimming runs every 2,000 lines, so up to that many beyond the
			// limit (plus one batch) may wait for the next trim.
			if n < 500 || n > 500+2200 || maxSeq-minSeq+1 != int64(n) {
				t.Errorf("kept %d lines (%d..%d), want the newest 500..2500", n, minSeq, maxSeq)
			}

			conn2, dep2 := setup(t, db)
			svc = logs.New(conn2, logs.Options{RetainLines: 1_000_000, RetainBytes: 100 << 10, Logger: quiet()})
			line := strings.Repeat("x", 1000)
			for i := 0; i < 4000; i++ {
				svc.Append(dep2, logs.Stdout, logs.Run, 0, line, false)
				if i%100 == 0 {
					_ = svc.Flush(context.Background(), dep2)
				}
			}
			svc.Close()
			n, _, _ = count(t, conn2, dep2)
			if n > 100+2200 || n < 100 {
				t.Errorf("kept %d lines of 1,000 bytes under a 100 KiB limit", n)
			}
		})
	}
}

// TestDropsAreLogged floods a tiny queue: what cannot be stored is counted
// and the count itself is logged, so stored + dropped = appended.
func TestDropsAreLogged(t *testing.T) {
	conn, dep := setup(t, testenv.Database{Name: "sqlite"})
	svc := logs.New(conn, logs.Options{QueueLines: 16, Logger: quiet()})
	const total = 50_000
	start := time.Now()
	for i := 0; i < total; i++ {
		svc.Append(dep, logs.Stdout, logs.Run, 0, fmt.Sprintf("line %d", i), false)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("appending %d lines took %s: the pipeline slowed the writer down", total, elapsed)
	}
	svc.Close()
	lines, err := svc.Query(context.Background(), dep, logs.Filter{}, 0, 0, total+1000)
	if err != nil {
		t.Fatal(err)
	}
	stored, dropped := 0, 0
	for _, l := range lines {
		if l.Stream == logs.System {
			var n int
			if _, err := fmt.Sscanf(l.Text, "[coderunner] %d lines dropped", &n); err != nil {
				t.Fatalf("system line %q", l.Text)
			}
			dropped += n
		} else {
			stored++
		}
	}
	if dropped == 0 {
		t.Fatal("nothing was dropped; the queue is not bounded")
	}
	if stored+dropped != total {
		t.Errorf("stored %d + dropped %d != %d appended", stored, dropped, total)
	}
}

// TestSlowFollowerIsCutOff: a follower that stops reading is ended with
// ErrBehind while another follower and ingestion carry on.
func TestSlowFollowerIsCutOff(t *testing.T) {
	conn, dep := setup(t, testenv.Database{Name: "sqlite"})
	svc := logs.New(conn, logs.Options{Logger: quiet()})
	defer svc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	block := make(chan struct{})
	slowErr := make(chan error, 1)
	go func() {
		first := true
		slowErr <- svc.Follow(ctx, logs.FollowRequest{DeploymentID: dep, Follow: true}, func([]logs.Line) error {
			if first {
				first = false
				return nil // the opening keepalive
			}
			<-block // never reads on
			return nil
		})
	}()
	var mu sync.Mutex
	fastLines := 0
	go func() {
		_ = svc.Follow(ctx, logs.FollowRequest{DeploymentID: dep, Follow: true}, func(lines []logs.Line) error {
			mu.Lock()
			fastLines += len(lines)
			mu.Unlock()
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond)
	const total = 3000
	for i := 0; i < total; i++ {
		svc.Append(dep, logs.Stdout, logs.Run, 0, "x", false)
		_ = svc.Flush(ctx, dep) // one batch per line: the slow buffer fills
	}
	close(block)
	select {
	case err := <-slowErr:
		if !errors.Is(err, logs.ErrBehind) {
			t.Errorf("slow follower ended with %v, want ErrBehind", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("slow follower was not cut off")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := fastLines
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fast follower got %d of %d lines", n, total)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
