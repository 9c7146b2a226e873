package api_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestSandboxUIDPerOwner: each owner's sandboxes run as a host uid of
// their own, the same for all of the owner's deployments, and what an app
// writes to its data dir is owned by that uid on the host.
func TestSandboxUIDPerOwner(t *testing.T) {
	alice := newEngine(t, sqlite, testenv.Options{})
	bob := alice.otherUser()
	uidOf := func(e *engine, d *coderunnerv1.Deployment) float64 {
		t.Helper()
		uid, _ := e.fetchJSON(d, "/whoami")["uid"].(float64)
		if uid == 0 {
			t.Fatalf("%s runs as root (or answered no uid)", d.GetName())
		}
		return uid
	}
	a1, a2, b1 := alice.runProbe("a-one"), alice.runProbe("a-two"), bob.runProbe("b-one")
	if uidOf(alice, a1) != uidOf(alice, a2) {
		t.Errorf("one owner's deployments run as uids %v and %v, want one", uidOf(alice, a1), uidOf(alice, a2))
	}
	if uidOf(alice, a1) == uidOf(bob, b1) {
		t.Errorf("two owners' deployments both run as uid %v", uidOf(bob, b1))
	}
	if res := bob.fetchJSON(b1, "/write?path=/data/mine.txt"); res["ok"] != true {
		t.Fatalf("write: %v", res)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(alice.srv.Config.DataDir, "deployments", b1.GetId(), "data", "mine.txt"), &st); err != nil {
		t.Fatal(err)
	}
	if float64(st.Uid) != uidOf(bob, b1) {
		t.Errorf("the file bob's app wrote is owned by uid %d on the host, want %v", st.Uid, uidOf(bob, b1))
	}
}

// TestSandboxIsolation deploys two probe apps and checks, from inside one,
// what a sandboxed app can and cannot reach.
func TestSandboxIsolation(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	probe := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "probe", Files: readDir(t, "testdata/probe"), Env: map[string]string{"MY_SETTING": "42"}})
	neighbour := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "neighbour", Files: readDir(t, "testdata/probe")})
	probe = e.waitFor(probe.GetId(), statusRunning, 30*time.Second)
	e.waitFor(neighbour.GetId(), statusRunning, 30*time.Second)

	ask := func(path string) map[string]any { return e.fetchJSON(probe, path) }
	q := url.QueryEscape
	dataDir, _ := filepath.Abs(e.srv.Config.DataDir)
	_, platformPort, _ := net.SplitHostPort(strings.TrimPrefix(e.srv.URL, "http://"))

	cannot := map[string]string{
		"read the platform's JWT secret":     "/read?path=" + q(filepath.Join(dataDir, auth.SecretFile)),
		"read the platform's database":       "/read?path=" + q(filepath.Join(dataDir, "coderunner.db")),
		"read another deployment's files":    "/read?path=" + q(filepath.Join(dataDir, "deployments", neighbour.GetId(), "app", "index.js")),
		"read the host's shadow file":        "/read?path=/etc/shadow",
		"write to system directories":        "/write?path=/usr/lib/probe",
		"write outside its dirs":             "/write?path=/probe",
		"connect to PostgreSQL on the host":  "/connect?host=127.0.0.1&port=5432",
		"connect to the platform's port":     "/connect?host=127.0.0.1&port=" + platformPort,
		"connect to the host via slirp's gw": "/connect?host=10.0.2.2&port=5432",
	}
	for what, path := range cannot {
		t.Run("cannot "+what, func(t *testing.T) {
			if res := ask(path); res["ok"] != false {
				t.Errorf("%s answered %v", path, res)
			}
		})
	}
	can := map[string]string{
		"write its app dir":    "/write?path=/app/written.txt",
		"write its data dir":   "/write?path=/data/written.txt",
		"write its /tmp":       "/write?path=/tmp/written.txt",
		"read its own source":  "/read?path=/app/index.js",
		"reach its own server": "/connect?host=127.0.0.1&port=3000",
	}
	for what, path := range can {
		t.Run("can "+what, func(t *testing.T) {
			if res := ask(path); res["ok"] != true {
				t.Errorf("%s answered %v", path, res)
			}
		})
	}
	t.Run("runs as a non-root user", func(t *testing.T) {
		if uid := ask("/whoami")["uid"]; uid == float64(0) {
			t.Errorf("uid = %v", uid)
		}
	})
	t.Run("environment", func(t *testing.T) {
		env := ask("/env")
		if env["PORT"] != "3000" || env["MY_SETTING"] != "42" {
			t.Errorf("PORT=%v MY_SETTING=%v", env["PORT"], env["MY_SETTING"])
		}
		for key := range env {
			if strings.HasPrefix(key, "CODERUNNER_") || key == "DATABASE_URL" || key == "TEST_DATABASE_URL" {
				t.Errorf("the platform's variable %s leaked into the app", key)
			}
		}
	})
}

// TestRouter checks host routing details: unknown hosts, streaming
// responses and protocol upgrades.
func TestRouter(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("router")
	u, _ := url.Parse(d.GetUrl())

	t.Run("unknown slug", func(t *testing.T) {
		res, err := e.appClient().Get("http://nobody-here." + strings.SplitN(u.Host, ".", 2)[1] + "/")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("status %d", res.StatusCode)
		}
	})

	t.Run("server-sent events stream", func(t *testing.T) {
		res, err := e.appClient().Get("http://" + u.Host + "/sse?every=300")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		reader := bufio.NewReader(res.Body)
		start := time.Now()
		line, err := reader.ReadString('\n')
		if err != nil || line != "data: 0\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		// The first event arrives long before the stream ends (5 × 300 ms):
		// the router does not buffer.
		if time.Since(start) > 900*time.Millisecond {
			t.Errorf("first event took %s", time.Since(start))
		}
		rest, _ := io.ReadAll(reader)
		if !strings.Contains(string(rest), "data: 4") {
			t.Errorf("stream ended with %q", rest)
		}
	})

	t.Run("upgrade", func(t *testing.T) {
		conn, reader := upgradeProbe(t, e, u.Host)
		_, _ = conn.Write([]byte("ping through the router"))
		buf := make([]byte, len("ping through the router"))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(reader, buf); err != nil || string(buf) != "ping through the router" {
			t.Errorf("echo = %q, %v", buf, err)
		}
	})

	t.Run("connection the app closed while idle", func(t *testing.T) {
		// Node closes a keep-alive connection after 5-6 s idle; the router
		// still holds it in its pool and must not answer 502 for it.
		client := e.appClient()
		for round := 0; round < 2; round++ {
			if round > 0 {
				time.Sleep(7 * time.Second)
			}
			for i := 0; i < 3; i++ {
				res, err := client.Get("http://" + u.Host + "/")
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					t.Fatalf("round %d, GET %d = %d", round, i, res.StatusCode)
				}
			}
		}
	})

	t.Run("platform still served on its own host", func(t *testing.T) {
		status, _, _ := get(t, e.srv.URL+"/health", nil)
		if status != 200 {
			t.Errorf("/health = %d", status)
		}
	})
}

// upgradeProbe opens a WebSocket-style upgrade to the probe app at host
// through the server's router and returns the connection, switched to the
// probe's byte echo, and its reader. The test's end closes it.
func upgradeProbe(t *testing.T, e *engine, host string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", host)
	reader := bufio.NewReader(conn)
	res, err := http.ReadResponse(reader, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("Sec-Websocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade answered %d %v", res.StatusCode, res.Header)
	}
	return conn, reader
}

// TestShutdownRemovesCgroupRoot: a server that stops takes its sandboxes
// down and removes the (then empty) cgroup that held them, so servers run
// on throwaway data dirs leave nothing in /sys/fs/cgroup.
func TestShutdownRemovesCgroupRoot(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("shutdown")
	// The replica's cgroup is <hierarchy>/<root>/<deployment id>-v<revision>-r<n>.
	leaves, _ := filepath.Glob("/sys/fs/cgroup/*/coderunner-*/" + d.GetId() + "-v*-r*")
	leaves2, _ := filepath.Glob("/sys/fs/cgroup/coderunner-*/" + d.GetId() + "-v*-r*") // cgroup v2
	leaves = append(leaves, leaves2...)
	if len(leaves) == 0 {
		t.Fatalf("no cgroup found for deployment %s", d.GetId())
	}
	if err := e.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, leaf := range leaves {
		root := filepath.Dir(leaf)
		if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cgroup root %s still exists after shutdown (%v)", root, err)
		}
	}
}
