package pgembed

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
	"github.com/coderunner/coderunner/server/appdb/embedded/embeddedtest"
	"github.com/coderunner/coderunner/server/testenv/syncbuf"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// clusterDir returns a fresh Dir the postgres user may reach.
func clusterDir(t *testing.T) string {
	t.Helper()
	_, missing := findBinDir(context.Background(), "", "")
	return embeddedtest.Dir(t, "postgres", missing)
}

func start(t *testing.T, dir string, log *syncbuf.SyncBuffer) *Cluster {
	t.Helper()
	return embeddedtest.Start(t, log, func(ctx context.Context, logger *slog.Logger) (*Cluster, error) {
		return Start(ctx, Options{Dir: dir, Logger: logger})
	})
}

func closeCluster(t *testing.T, c *Cluster) {
	t.Helper()
	embeddedtest.Close(t, c, ErrClosed)
}

func adminConn(t *testing.T, c *Cluster) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), c.AdminURL())
	if err != nil {
		t.Fatalf("connect as admin: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// connectVia logs in as role through c.Dial, as a per-app forwarder would.
func connectVia(c *Cluster, role, password, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig("postgres://" + role + ":" + password + "@localhost/" + database + "?sslmode=disable")
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) { return c.Dial(ctx) }
	cfg.LookupFunc = func(context.Context, string) ([]string, error) { return []string{"localhost"}, nil }
	return pgx.ConnectConfig(context.Background(), cfg)
}

func exec1(t *testing.T, conn *pgx.Conn, sql string) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TestCluster runs one cluster through its life: first start (initdb),
// logins over the socket, hardening, no TCP, a crash and its restart,
// Close and Start again on the same data, and a postmaster left behind.
func TestCluster(t *testing.T) {
	dir := clusterDir(t)
	log := &syncbuf.SyncBuffer{}
	c := start(t, dir, log)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	ctx := context.Background()

	t.Run("files", func(t *testing.T) {
		info, err := os.Stat(filepath.Join(dir, passwordFileName))
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); info.Mode().Perm() != 0o600 || int(st.Uid) != os.Geteuid() {
			t.Errorf("admin-password mode %v uid %d, want 0600 uid %d", info.Mode().Perm(), st.Uid, os.Geteuid())
		}
		info, err = os.Stat(filepath.Join(dir, dataDirName))
		if err != nil {
			t.Fatal(err)
		}
		if st := info.Sys().(*syscall.Stat_t); info.Mode().Perm() != 0o700 || int(st.Uid) != c.user.UID() {
			t.Errorf("data mode %v uid %d, want 0700 uid %d", info.Mode().Perm(), st.Uid, c.user.UID())
		}
		if os.Geteuid() == 0 && c.user.UID() == 0 {
			t.Error("postgres runs as root")
		}
	})

	admin := adminConn(t, c)
	t.Run("settings", func(t *testing.T) {
		for setting, want := range map[string]string{
			"listen_addresses":        "",
			"unix_socket_directories": `"` + c.SocketDir() + `"`,
			"max_connections":         "200",
			"shared_buffers":          "32MB",
			"server_encoding":         "UTF8",
			"lc_collate":              "C",
			"password_encryption":     "scram-sha-256",
		} {
			var got string
			if err := admin.QueryRow(ctx, "SHOW "+setting).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("SHOW %s = %q, want %q", setting, got, want)
			}
		}
		var superuser bool
		if err := admin.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&superuser); err != nil || !superuser {
			t.Errorf("admin superuser = %v, %v", superuser, err)
		}
		// The only file in the socket dir is ours; nothing on TCP.
		if _, err := os.Stat(filepath.Join(c.SocketDir(), ".s.PGSQL.5432")); err != nil {
			t.Error(err)
		}
		hba, err := os.ReadFile(filepath.Join(dir, dataDirName, "pg_hba.conf"))
		if err != nil || strings.Contains(string(hba), "trust") || strings.Contains(string(hba), "host") || strings.Contains(string(hba), "peer") {
			t.Errorf("pg_hba.conf: %v\n%s", err, hba)
		}
	})

	exec1(t, admin, "CREATE ROLE app LOGIN PASSWORD 'app-secret'")
	exec1(t, admin, "CREATE DATABASE app OWNER app")
	exec1(t, admin, "CREATE ROLE other LOGIN PASSWORD 'other-secret'")
	exec1(t, admin, "GRANT CONNECT ON DATABASE app TO other")

	t.Run("role over Dial", func(t *testing.T) {
		conn, err := connectVia(c, "app", "app-secret", "app")
		if err != nil {
			t.Fatalf("connect as app: %v", err)
		}
		defer conn.Close(ctx)
		exec1(t, conn, "CREATE TABLE notes (body text)")
		exec1(t, conn, "INSERT INTO notes VALUES ('kept')")
	})

	t.Run("wrong password refused", func(t *testing.T) {
		conn, err := connectVia(c, "app", "wrong", "app")
		if err == nil {
			conn.Close(ctx)
			t.Fatal("connected with a wrong password")
		}
		if code := sqlState(err); code != "28P01" {
			t.Errorf("error %v (SQLSTATE %q), want 28P01 invalid_password", err, code)
		}
	})

	t.Run("hardened", func(t *testing.T) {
		for _, db := range []string{"postgres", "template1"} {
			conn, err := connectVia(c, "app", "app-secret", db)
			if err == nil {
				conn.Close(ctx)
				t.Errorf("app connected to %s", db)
			} else if code := sqlState(err); code != "42501" {
				t.Errorf("connect to %s: %v (SQLSTATE %q), want 42501", db, err, code)
			}
		}
		conn, err := connectVia(c, "other", "other-secret", "app")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE public.intruder (x int)"); sqlState(err) != "42501" {
			t.Errorf("another role creating a table in app's public schema: %v, want 42501", err)
		}
		if _, err := conn.Exec(ctx, "SELECT * FROM public.notes"); sqlState(err) != "42501" {
			t.Errorf("another role reading app's table: %v, want 42501", err)
		}
	})

	t.Run("machine's postgres untouched", func(t *testing.T) {
		// Ours has no TCP listener; if the machine runs one on 5432 it is
		// not ours (a different server, with no "app" database).
		conn, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
		if err != nil {
			t.Skipf("no server on 127.0.0.1:5432 to compare with: %v", err)
		}
		conn.Close()
		if strings.Contains(c.AdminURL(), "127.0.0.1") || strings.Contains(c.AdminURL(), "localhost") {
			t.Errorf("AdminURL %s points at TCP", c.AdminURL())
		}
	})

	t.Run("supervision", func(t *testing.T) {
		pid := c.pid()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		down := embeddedtest.WaitHealth(t, c, false, 5*time.Second)
		t.Logf("Health after kill -9: %v (noticed in %s)", c.Health(), down.Round(time.Millisecond))
		up := embeddedtest.WaitHealth(t, c, true, 40*time.Second)
		t.Logf("up again in %s", up.Round(time.Millisecond))
		if c.pid() == pid {
			t.Error("same postmaster pid after restart")
		}
		assertNotes(t, c)
	})

	t.Run("restart keeps data", func(t *testing.T) {
		closeCluster(t, c)
		c = start(t, dir, log)
		assertNotes(t, c)
	})

	t.Run("postmaster left running", func(t *testing.T) {
		closeCluster(t, c)
		// What a SIGKILLed CodeRunner may leave: postgres on our data dir,
		// not our child.
		orphan, err := embedded.Launch(c.command(), c.user, syscall.SIGINT, c.serverLog)
		if err != nil {
			t.Fatal(err)
		}
		defer orphan.Stop(embedded.Now, syscall.SIGINT, syscall.SIGQUIT, quitGrace)
		embeddedtest.WaitFor(t, func() bool { _, err := os.Stat(socketName(c.socketDir)); return err == nil })
		c = start(t, dir, log)
		select {
		case <-orphan.Exited():
		case <-time.After(time.Second):
			t.Fatal("the orphan still runs")
		}
		assertNotes(t, c)
	})
	closeCluster(t, c)
}

func assertNotes(t *testing.T, c *Cluster) {
	t.Helper()
	conn, err := connectVia(c, "app", "app-secret", "app")
	if err != nil {
		t.Fatalf("connect as app: %v", err)
	}
	defer conn.Close(context.Background())
	var body string
	if err := conn.QueryRow(context.Background(), "SELECT body FROM notes").Scan(&body); err != nil || body != "kept" {
		t.Fatalf("notes = %q, %v; want kept", body, err)
	}
}
