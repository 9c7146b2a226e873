package router

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// directFixture is a directTransport dialing addr, counting its dials and
// the requests it hands to the fallback.
type directFixture struct {
	t         *directTransport
	dials     atomic.Int32
	fellBack  atomic.Int32
	requester func(method, path string) *http.Request
}

type fallbackFunc func(*http.Request) (*http.Response, error)

func (f fallbackFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func newDirectFixture(t *testing.T, addr string, idleFor time.Duration) *directFixture {
	t.Helper()
	f := &directFixture{}
	dial := func(ctx context.Context) (net.Conn, error) {
		f.dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	fallback := fallbackFunc(func(r *http.Request) (*http.Response, error) {
		f.fellBack.Add(1)
		return &http.Response{StatusCode: 299, Body: http.NoBody, Request: r}, nil
	})
	f.t = newDirectTransport(dial, fallback, 4, idleFor)
	f.requester = func(method, path string) *http.Request {
		r, err := http.NewRequest(method, "http://replica-1"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return f
}

// get sends a GET and returns the whole body.
func (f *directFixture) get(t *testing.T, path string) (int, string) {
	t.Helper()
	res, err := f.t.RoundTrip(f.requester("GET", path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("GET %s body: %v", path, err)
	}
	return res.StatusCode, string(body)
}

func TestDirectReusesOneConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path)
	}))
	defer srv.Close()
	f := newDirectFixture(t, srv.Listener.Addr().String(), time.Minute)
	for i := 0; i < 20; i++ {
		if status, body := f.get(t, "/x"); status != 200 || body != "hello /x" {
			t.Fatalf("GET = %d %q", status, body)
		}
		res, err := f.t.RoundTrip(f.requester("HEAD", "/x"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close() // a HEAD answer has no body to read
	}
	if n := f.dials.Load(); n != 1 {
		t.Errorf("dialed %d times for 40 sequential requests, want 1", n)
	}
}

// oneShotServer answers one request per connection and then closes it
// without saying so (no "Connection: close"), like an app whose keep-alive
// timeout ended while the router held the connection.
func oneShotServer(t *testing.T, reply string) (addr string, closed <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan struct{}, 100)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { conn.Close(); done <- struct{}{} }()
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
					return
				}
				io.WriteString(conn, reply)
			}()
		}
	}()
	return ln.Addr().String(), done
}

func TestDirectResendsWhenAppClosedIdleConnection(t *testing.T) {
	addr, closed := oneShotServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	f := newDirectFixture(t, addr, time.Minute)
	for i := 0; i < 3; i++ {
		if status, body := f.get(t, "/"); status != 200 || body != "ok" {
			t.Fatalf("GET %d = %d %q", i, status, body)
		}
		<-closed // the pooled connection is now dead
	}
	if n := f.dials.Load(); n != 3 {
		t.Errorf("dialed %d times, want 3 (the first and one resend per dead pooled connection)", n)
	}
}

func TestDirectSkipsInformationalResponses(t *testing.T) {
	addr, _ := oneShotServer(t, "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
	f := newDirectFixture(t, addr, time.Minute)
	if status, body := f.get(t, "/"); status != 200 || body != "final" {
		t.Fatalf("GET = %d %q, want the final answer", status, body)
	}
}

func TestDirectDoesNotReuseWhatCannotBeReused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, strings.Repeat("x", 100_000))
	}))
	defer srv.Close()
	f := newDirectFixture(t, srv.Listener.Addr().String(), time.Minute)

	f.get(t, "/close")
	f.get(t, "/close")
	if n := f.dials.Load(); n != 2 {
		t.Errorf("after two 'Connection: close' answers: %d dials, want 2", n)
	}

	// A body closed before its end leaves bytes on the connection.
	res, err := f.t.RoundTrip(f.requester("GET", "/big"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Read(make([]byte, 10))
	res.Body.Close()
	if status, body := f.get(t, "/big"); status != 200 || len(body) != 100_000 {
		t.Fatalf("GET after an unread body = %d, %d bytes", status, len(body))
	}
	if n := f.dials.Load(); n != 4 {
		t.Errorf("%d dials, want 4 (a half-read response's connection is not reused)", n)
	}
}

func TestDirectCancelEndsWaitAndDropsConnection(t *testing.T) {
	var closedConns atomic.Int32
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			io.WriteString(w, "first part")
			w.(http.Flusher).Flush()
		}
		if r.URL.Path != "/fast" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closedConns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	f := newDirectFixture(t, srv.Listener.Addr().String(), time.Minute)

	// Waiting for the head: RoundTrip returns the context's error.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.t.RoundTrip(f.requester("GET", "/slow").WithContext(ctx))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("RoundTrip after the deadline = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Fatalf("RoundTrip returned %v after the deadline", waited)
	}

	// Reading a streamed body: the read fails, and the connection closes.
	ctx, cancel = context.WithCancel(context.Background())
	res, err := f.t.RoundTrip(f.requester("GET", "/stream").WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if n, _ := res.Body.Read(buf); string(buf[:n]) != "first part" {
		t.Fatalf("first read = %q", buf[:n])
	}
	cancel()
	if _, err := io.ReadAll(res.Body); err == nil {
		t.Fatal("reading a cancelled stream did not fail")
	}
	res.Body.Close()

	waitFor(t, func() bool { return closedConns.Load() == 2 }, "the app to see both connections closed")
	f.get(t, "/fast")
	if n := f.dials.Load(); n != 3 {
		t.Errorf("%d dials, want 3 (no cancelled connection goes back to the pool)", n)
	}
}

func TestDirectClosesIdleConnections(t *testing.T) {
	var mu sync.Mutex
	closed := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			mu.Lock()
			closed++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	f := newDirectFixture(t, srv.Listener.Addr().String(), 50*time.Millisecond)
	f.get(t, "/")
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return closed == 1 }, "the idle connection to be closed")
	f.t.mu.Lock()
	left, sweeping := len(f.t.idle), f.t.sweep != nil
	f.t.mu.Unlock()
	if left != 0 || sweeping {
		t.Errorf("after the sweep: %d replicas with idle connections, sweep timer set: %v", left, sweeping)
	}
	// The pool works again after it emptied.
	f.get(t, "/")
	f.get(t, "/")
	if n := f.dials.Load(); n != 2 {
		t.Errorf("%d dials, want 2", n)
	}
}

func TestDirectKeepsAtMostMaxIdle(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	f := newDirectFixture(t, srv.Listener.Addr().String(), time.Minute)
	var bodies []io.Closer
	for i := 0; i < 6; i++ { // six at once: six connections
		res, err := f.t.RoundTrip(f.requester("GET", "/"))
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(res.Body)
		bodies = append(bodies, res.Body)
	}
	for _, b := range bodies {
		b.Close()
	}
	f.t.mu.Lock()
	idle := len(f.t.idle["replica-1"])
	f.t.mu.Unlock()
	if idle != 4 {
		t.Errorf("%d idle connections kept, want maxIdle (4)", idle)
	}
}

func TestDirectLeavesOtherRequestsToFallback(t *testing.T) {
	f := newDirectFixture(t, "127.0.0.1:1", time.Minute) // never dialed
	post := f.requester("POST", "/")
	post.Body = io.NopCloser(strings.NewReader("{}"))
	upgrade := f.requester("GET", "/ws")
	upgrade.Header.Set("Upgrade", "websocket")
	withBody := f.requester("GET", "/")
	withBody.Body = io.NopCloser(strings.NewReader("x"))
	for _, r := range []*http.Request{post, upgrade, withBody, f.requester("DELETE", "/")} {
		res, err := f.t.RoundTrip(r)
		if err != nil || res.StatusCode != 299 {
			t.Errorf("%s %s with %v: %v, %v; want the fallback's answer", r.Method, r.URL.Path, r.Header, res, err)
		}
	}
	if f.dials.Load() != 0 || f.fellBack.Load() != 4 {
		t.Errorf("dials %d, fallbacks %d; want 0 and 4", f.dials.Load(), f.fellBack.Load())
	}
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
