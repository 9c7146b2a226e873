package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serving is a Serve running in the background.
type serving struct {
	t      *testing.T
	base   string
	cancel context.CancelFunc
	done   chan error
}

// launchServe runs Serve in the background, without waiting for it.
func launchServe(t *testing.T, src string, st Storage) *serving {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &serving{t: t, base: "http://" + addr, cancel: cancel, done: make(chan error, 1)}
	m := mustParse(t, src)
	go func() { s.done <- Serve(ctx, m, st, addr, slog.New(slog.DiscardHandler)) }()
	return s
}

// startServe runs Serve in the background and waits for /health.
func startServe(t *testing.T, src string, st Storage) (base string, stop func()) {
	t.Helper()
	s := launchServe(t, src, st)
	s.waitUp()
	return s.base, s.stop
}

// waitUp waits for /health.
func (s *serving) waitUp() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case err := <-s.done:
			s.cancel()
			s.t.Fatalf("Serve returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			s.cancel()
			s.t.Fatalf("Serve did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop stops Serve and waits for it to return.
func (s *serving) stop() {
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		s.t.Error("Serve did not stop")
	}
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	body, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%s: %v: %s", url, err, body)
	}
	return resp.StatusCode, out
}

func TestServePersists(t *testing.T) { forEachDialect(t, testServePersists) }

func testServePersists(t *testing.T, td testDialect) {
	st := td.storage(t)
	base, stop := startServe(t, td.src(blogYAML), st)
	resp, err := http.Post(base+"/api/users", "application/json", strings.NewReader(`{"username":"ada","email":"a@x"}`))
	if err != nil {
		t.Fatal(err)
	}
	var user map[string]any
	json.NewDecoder(resp.Body).Decode(&user)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %v", resp.StatusCode, user)
	}
	stop()

	// Serve again on the same directory: the record is there.
	base, stop = startServe(t, td.src(blogYAML), st)
	defer stop()
	status, got := getJSON(t, base+"/api/users/"+user["id"].(string))
	if status != 200 || got["username"] != "ada" || got["createdAt"] != user["createdAt"] {
		t.Errorf("after restart: %d %v", status, got)
	}
	status, list := getJSON(t, base+"/api/users")
	if status != 200 || list["total"] != float64(1) {
		t.Errorf("list after restart: %d %v", status, list)
	}
	// Over a real connection too, errors are JSON with CORS.
	req, _ := http.NewRequest("OPTIONS", base+"/api/users", nil)
	req.Header.Set("Origin", "http://x")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestServeRefusesUnsafeMigration(t *testing.T) {
	forEachDialect(t, testServeRefusesUnsafeMigration)
}

func testServeRefusesUnsafeMigration(t *testing.T, td testDialect) {
	st := td.storage(t)
	base, stop := startServe(t, td.src(blogYAML), st)
	resp, err := http.Post(base+"/api/users", "application/json", strings.NewReader(`{"username":"ada","email":"a@x"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	// While the old version runs, the new one is refused before it listens.
	bad := strings.Replace(blogYAML, "      - name: email\n        type: string", "      - name: email\n        type: integer", 1)
	addr := freeAddr(t)
	err = Serve(context.Background(), mustParse(t, td.src(bad)), st, addr, nil)
	var me *MigrationError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "User.email") {
		t.Fatalf("got %v, want a MigrationError naming User.email", err)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the refused version listens")
	}
	status, list := getJSON(t, base+"/api/users")
	if status != 200 || list["total"] != float64(1) {
		t.Errorf("old version after the refusal: %d %v", status, list)
	}
	stop()
	base, stop = startServe(t, td.src(blogYAML), st)
	defer stop()
	if status, list := getJSON(t, base+"/api/users"); status != 200 || list["total"] != float64(1) {
		t.Errorf("old version restarted: %d %v", status, list)
	}
}

func TestServeBadAddr(t *testing.T) {
	err := Serve(context.Background(), mustParse(t, blogYAML), Storage{DataDir: t.TempDir()}, "256.0.0.1:99999", nil)
	if err == nil {
		t.Error("Serve on a bad address succeeded")
	}
}

// TestServeReplicas: two Serve on one PostgreSQL database, started at the
// same moment, both migrate and serve the same data.
func TestServeReplicas(t *testing.T) {
	st := Storage{DatabaseURL: testPostgres(t)}
	src := testDialects[1].src(blogYAML)
	a, b := launchServe(t, src, st), launchServe(t, src, st)
	a.waitUp()
	defer a.stop()
	b.waitUp()
	defer b.stop()
	user := postJSON(t, a.base+"/api/users", `{"username":"ada","email":"a@x"}`, 201)
	status, got := getJSON(t, b.base+"/api/users/"+user["id"].(string))
	if status != 200 || got["username"] != "ada" {
		t.Errorf("read through the other replica: %d %v", status, got)
	}
	clash := postJSON(t, b.base+"/api/users", `{"username":"ada","email":"b@x"}`, 409)
	if fields := clash["error"].(map[string]any)["fields"].([]any); len(fields) != 1 {
		t.Errorf("409 through the other replica: %v", clash)
	}
}

// postJSON posts body to url and decodes the answer, which must have
// status want.
func postJSON(t *testing.T, url, body string, want int) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != want {
		t.Fatalf("POST %s: %d %v (%v), want %d", url, resp.StatusCode, out, err, want)
	}
	return out
}

// TestServeNeedsDatabaseURL: a manifest asking for PostgreSQL where there
// is none is refused before anything listens, saying what to do.
func TestServeNeedsDatabaseURL(t *testing.T) {
	src := testDialects[1].src(blogYAML)
	err := Serve(context.Background(), mustParse(t, src), Storage{DataDir: t.TempDir()}, freeAddr(t), nil)
	if !errors.Is(err, ErrNoDatabaseURL) {
		t.Errorf("got %v, want ErrNoDatabaseURL", err)
	}
}
