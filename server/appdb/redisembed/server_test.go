package redisembed

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/appdb/embedded"
	"github.com/coderunner/coderunner/server/appdb/embedded/embeddedtest"
	"github.com/coderunner/coderunner/server/testenv/syncbuf"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// serverDir returns a fresh Dir the redis user may reach.
func serverDir(t *testing.T) string {
	t.Helper()
	_, missing := findBinary("")
	return embeddedtest.Dir(t, "redis", missing)
}

func start(t *testing.T, dir string, log *syncbuf.SyncBuffer) *Server {
	t.Helper()
	return embeddedtest.Start(t, log, func(ctx context.Context, logger *slog.Logger) (*Server, error) {
		return Start(ctx, Options{Dir: dir, Logger: logger})
	})
}

func closeServer(t *testing.T, s *Server) {
	t.Helper()
	embeddedtest.Close(t, s, ErrClosed)
}

// connect logs in as user through s.Dial, as a per-app forwarder would.
func connect(t *testing.T, s *Server, user, password string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Network: "unix", Addr: s.Socket(),
		Dialer:   func(ctx context.Context, _, _ string) (net.Conn, error) { return s.Dial(ctx) },
		Username: user, Password: password, MaxRetries: -1, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func admin(t *testing.T, s *Server) *redis.Client {
	t.Helper()
	return connect(t, s, "default", s.AdminPassword())
}

func do(t *testing.T, c *redis.Client, args ...any) any {
	t.Helper()
	v, err := c.Do(context.Background(), args...).Result()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// TestServer runs one server through its life: first start, logins over
// the socket, no TCP, an app's ACL user, a crash and its restart, Close
// and Start again on the same data, and a redis-server left behind.
func TestServer(t *testing.T) {
	dir := serverDir(t)
	log := &syncbuf.SyncBuffer{}
	s := start(t, dir, log)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	ctx := context.Background()

	t.Run("files", func(t *testing.T) { checkFiles(t, s) })
	t.Run("runs as", func(t *testing.T) { checkRunsAs(t, s) })

	t.Run("authenticated ping", func(t *testing.T) {
		if got := do(t, admin(t, s), "PING"); got != "PONG" {
			t.Errorf("PING = %v", got)
		}
	})

	t.Run("no TCP", func(t *testing.T) {
		if got, err := admin(t, s).ConfigGet(ctx, "port").Result(); err != nil || got["port"] != "0" {
			t.Errorf("CONFIG GET port = %v, %v; want 0", got, err)
		}
		if ports := listeningTCP(t, s.pid()); len(ports) > 0 {
			t.Errorf("redis-server listens on TCP ports %v", ports)
		}
	})

	t.Run("unauthenticated refused", func(t *testing.T) {
		if reply := rawCommand(t, s, "GET x"); !strings.HasPrefix(reply, "-NOAUTH") {
			t.Errorf("GET without AUTH: %q, want -NOAUTH", reply)
		}
		err := connect(t, s, "default", "wrong").Ping(ctx).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
			t.Errorf("PING with a wrong password: %v, want WRONGPASS", err)
		}
	})

	t.Run("hardened", func(t *testing.T) {
		a := admin(t, s)
		for _, tc := range []struct {
			args []any
			want string
		}{
			{[]any{"DEBUG", "SLEEP", "0"}, "DEBUG command not allowed"},
			{[]any{"MODULE", "LOAD", "/nonexistent.so"}, "MODULE command not allowed"},
			{[]any{"CONFIG", "SET", "dir", "/tmp"}, "protected config"},
		} {
			if err := a.Do(ctx, tc.args...).Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
			}
		}
	})

	a := admin(t, s)
	do(t, a, "ACL", "SETUSER", "app", "on", ">app-secret", "resetkeys", "~app:*", "+@all", "-@dangerous")
	do(t, a, "ACL", "SAVE")
	app := connect(t, s, "app", "app-secret")
	do(t, app, "SET", "app:note", "kept")
	t.Run("app user confined", func(t *testing.T) {
		if err := app.Set(ctx, "other:note", "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "NOPERM") {
			t.Errorf("app writing another prefix: %v, want NOPERM", err)
		}
	})

	t.Run("supervision", func(t *testing.T) {
		do(t, app, "SET", "app:crash", "survived")
		// appendfsync everysec writes within two seconds, not at once: a
		// write that comes while the last second's fsync still runs waits
		// for it, and a kill -9 loses it. What is in the file survives.
		embeddedtest.WaitFor(t, func() bool { return aofHolds(t, s, "app:crash") })
		pid := s.pid()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		down := embeddedtest.WaitHealth(t, s, false, 5*time.Second)
		t.Logf("Health after kill -9: %v (noticed in %s)", s.Health(), down.Round(time.Millisecond))
		up := embeddedtest.WaitHealth(t, s, true, 40*time.Second)
		t.Logf("up again in %s", up.Round(time.Millisecond))
		if s.pid() == pid {
			t.Error("same redis-server pid after restart")
		}
		assertKey(t, s, "app:crash", "survived")
		assertKey(t, s, "app:note", "kept")
	})

	t.Run("restart keeps data and users", func(t *testing.T) {
		pid := s.pid()
		closeServer(t, s)
		if syscall.Kill(pid, 0) == nil {
			t.Error("redis-server still runs after Close")
		}
		if err := s.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := os.Stat(s.Socket()); err == nil {
			t.Error("socket still there after Close")
		}
		s = start(t, dir, log)
		assertKey(t, s, "app:note", "kept")
	})

	t.Run("new admin password", func(t *testing.T) {
		closeServer(t, s)
		old := s.AdminPassword()
		if err := os.Remove(filepath.Join(dir, passwordFileName)); err != nil {
			t.Fatal(err)
		}
		s = start(t, dir, log)
		if s.AdminPassword() == old {
			t.Fatal("the password was not made anew")
		}
		if got := do(t, admin(t, s), "PING"); got != "PONG" {
			t.Errorf("PING = %v", got)
		}
		assertKey(t, s, "app:note", "kept")
	})

	t.Run("redis-server left running", func(t *testing.T) {
		closeServer(t, s)
		// What a SIGKILLed CodeRunner may leave: redis-server on our data
		// dir, not our child.
		orphan, err := embedded.Launch(s.command(), s.user, syscall.SIGTERM, s.serverLog)
		if err != nil {
			t.Fatal(err)
		}
		defer orphan.Stop(embedded.Now, syscall.SIGTERM, syscall.SIGKILL, killGrace)
		embeddedtest.WaitFor(t, func() bool { _, err := os.Stat(filepath.Join(s.dataDir, pidFileName)); return err == nil })
		s = start(t, dir, log)
		select {
		case <-orphan.Exited():
		case <-time.After(time.Second):
			t.Fatal("the orphan still runs")
		}
		assertKey(t, s, "app:note", "kept")
	})
	closeServer(t, s)
	if t.Failed() {
		t.Logf("log:\n%s", log.String())
	}
}

// aofHolds reports whether the append-only files hold s.
func aofHolds(t *testing.T, srv *Server, s string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(srv.dataDir, "appendonlydir", "*.aof"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func assertKey(t *testing.T, s *Server, key, want string) {
	t.Helper()
	got, err := connect(t, s, "app", "app-secret").Get(context.Background(), key).Result()
	if err != nil || got != want {
		t.Fatalf("GET %s as app = %q, %v; want %q", key, got, err, want)
	}
}

// rawCommand sends one inline command over a fresh connection, without
// logging in, and returns the reply's first line.
func rawCommand(t *testing.T, s *Server, cmd string) string {
	t.Helper()
	conn, err := s.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte(cmd + "\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(line)
}

// listeningTCP returns the local ports of listening TCP sockets that
// process pid holds open.
func listeningTCP(t *testing.T, pid int) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/fd/" + fd.Name())
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var ports []string
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/net/" + table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 9 && f[3] == "0A" && inodes[f[9]] { // 0A: LISTEN
				ports = append(ports, f[1])
			}
		}
	}
	return ports
}
