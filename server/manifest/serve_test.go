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

// startServe runs Serve in the background and waits for /health.
func startServe(t *testing.T, src string, st Storage) (base string, stop func()) {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, mustParse(t, src), st, addr, slog.New(slog.DiscardHandler))
	}()
	base = "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("Serve returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("Serve did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return base, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not stop")
		}
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
