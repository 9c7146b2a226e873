package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replyServer is a host-side TCP server standing in for a platform service.
// For each connection it reads until EOF (so it answers only once the
// client has shut down its write side) and answers "got:" + what it read;
// or, with greet, it first sends "hello" and half-closes, then reads until
// EOF. conns counts the connections it has accepted; open those still being
// served.
type replyServer struct {
	l     net.Listener
	greet bool
	conns atomic.Int64
	open  atomic.Int64
}

func newReplyServer(t testing.TB, greet bool) *replyServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &replyServer{l: l, greet: greet}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.open.Add(1)
			go s.serve(c.(*net.TCPConn))
		}
	}()
	return s
}

func (s *replyServer) serve(c *net.TCPConn) {
	defer s.open.Add(-1)
	defer c.Close()
	if s.greet {
		if _, err := c.Write([]byte("hello")); err != nil {
			return
		}
		_ = c.CloseWrite()
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return
	}
	if !s.greet {
		_, _ = c.Write(append([]byte("got:"), b...))
	}
}

// dialer returns a Forward.Dial reaching s, counting its calls.
func (s *replyServer) dialer(calls *atomic.Int64) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		calls.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.l.Addr().String())
	}
}

// nodeForwardClient connects to 127.0.0.1:argv[1] as the script's first
// statement, writes "ping", shuts down its write side and prints what comes
// back until the other end closes.
const nodeForwardClient = `const sock = require('net').connect({host: '127.0.0.1', port: +process.argv[1]});
let got = '';
sock.on('connect', () => sock.end('ping'));
sock.on('data', (d) => got += d);
sock.on('end', () => console.log('reply=' + got));
sock.on('error', (e) => { console.log('reply=error ' + (e.code || e.message)); process.exit(1); });
`

// TestForward: an app whose first action is to connect to its forward gets
// the host-side server's reply, with and without network, and the reply
// only comes after the app half-closed (so the half-close went through).
func TestForward(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	for _, network := range []bool{false, true} {
		t.Run(map[bool]string{false: "loopback-only", true: "network"}[network], func(t *testing.T) {
			t.Parallel()
			srv := newReplyServer(t, false)
			var calls atomic.Int64
			out, errOut, st := run(t, d, Spec{
				Network:  network,
				Command:  []string{"node", "-e", nodeForwardClient, "5432"},
				Forwards: []Forward{{Port: 5432, Dial: srv.dialer(&calls)}},
			})
			if st.Code != 0 {
				t.Fatalf("status %+v: %s%s", st, out, errOut)
			}
			if r := results(out)["reply"]; r != "got:ping" {
				t.Errorf("reply %q, want got:ping (stderr %q)", r, errOut)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("Dial called %d times, want 1", n)
			}
		})
	}
}

// TestForwardHalfClose: the destination half-closes first (a greeting), and
// the app can still send and the destination still read; then the app's
// half-close reaches the destination. The client here is a Go conn made in
// the sandbox's namespace (DialContext), so each step is checked.
func TestForwardHalfClose(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	for _, greet := range []bool{false, true} {
		t.Run(map[bool]string{false: "client-first", true: "server-first"}[greet], func(t *testing.T) {
			t.Parallel()
			srv := newReplyServer(t, greet)
			var calls atomic.Int64
			s := start(t, d, Spec{
				Command:  []string{"sleep", "1000"},
				Forwards: []Forward{{Port: 6379, Dial: srv.dialer(&calls)}},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := s.DialContext(ctx, "tcp", "127.0.0.1:6379")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if greet {
				b, err := io.ReadAll(c) // ends at the server's half-close
				if err != nil || string(b) != "hello" {
					t.Fatalf("greeting %q, %v", b, err)
				}
			}
			if _, err := c.Write([]byte("ping")); err != nil {
				t.Fatalf("writing after the server's half-close: %v", err)
			}
			if err := c.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if !greet {
				b, err := io.ReadAll(c)
				if err != nil || string(b) != "got:ping" {
					t.Fatalf("reply after CloseWrite: %q, %v", b, err)
				}
			}
		})
	}
}

// forwarderGoroutines counts goroutines running the forwarder's code.
func forwarderGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("sandbox.(*forwarder)")) || bytes.Contains(g, []byte("sandbox.pipe(")) {
			count++
		}
	}
	return count
}

// TestForwardStop: stopping a sandbox closes its forwards' connections at
// both ends, calls Dial no more, and leaves no goroutine behind. (Not
// parallel: it counts the process's goroutines.)
func TestForwardStop(t *testing.T) {
	d := testDriver(t)
	srv := newReplyServer(t, false)
	var calls atomic.Int64
	before := runtime.NumGoroutine()
	s := start(t, d, Spec{
		Command:  []string{"sleep", "1000"},
		Forwards: []Forward{{Port: 5432, Dial: srv.dialer(&calls)}, {Port: 80, Dial: srv.dialer(&calls)}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var clients []net.Conn
	for _, port := range []string{"5432", "80", "5432"} {
		c, err := s.DialContext(ctx, "tcp", "127.0.0.1:"+port)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
	}
	waitUntil(t, "the server has three open connections", func() bool { return srv.open.Load() == 3 })
	if got := forwarderGoroutines(); got == 0 {
		t.Fatal("no forwarder goroutines while connections are carried: the count below proves nothing")
	}

	if err := s.Stop(0); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the server sees its connections closed", func() bool { return srv.open.Load() == 0 })
	for i, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("client %d inside the sandbox: read %v, want its connection closed", i, err)
		}
	}
	if got := forwarderGoroutines(); got != 0 {
		t.Errorf("%d forwarder goroutines left after Stop", got)
	}
	dialed := calls.Load()
	if dialed != 3 {
		t.Errorf("Dial called %d times, want 3", dialed)
	}
	if _, err := s.DialContext(ctx, "tcp", "127.0.0.1:5432"); err == nil {
		t.Error("dialing into a stopped sandbox succeeded")
	}
	time.Sleep(100 * time.Millisecond)
	if n := calls.Load(); n != dialed {
		t.Errorf("Dial called %d more times after Stop", n-dialed)
	}
	// Some slack for the runtime's and the test server's own goroutines.
	waitUntil(t, fmt.Sprintf("the goroutine count back to about %d", before), func() bool { return runtime.NumGoroutine() <= before+2 })
}

// TestForwardUndo: a start that fails after the forwards are open (here,
// installing the egress filter) closes them again.
func TestForwardUndo(t *testing.T) {
	d := testDriver(t)
	d.installEgress = func(*os.File, egressPolicy) error { return errors.New("injected failure") }
	srv := newReplyServer(t, false)
	var calls atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sb, err := d.Start(ctx, Spec{
		Name:     testName(t),
		Network:  true,
		Command:  []string{"sleep", "1000"},
		Env:      testEnv,
		Forwards: []Forward{{Port: 5432, Dial: srv.dialer(&calls)}},
	})
	if err == nil {
		_ = sb.Stop(0)
		t.Fatal("Start succeeded without its egress filter")
	}
	if got := forwarderGoroutines(); got != 0 {
		t.Errorf("%d forwarder goroutines left after a failed Start", got)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestForwardInvalid: Start refuses bad forwards before starting anything.
func TestForwardInvalid(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	dial := func(context.Context) (net.Conn, error) { return nil, errors.New("unused") }
	for _, tc := range []struct {
		name     string
		forwards []Forward
		want     string
	}{
		{"port 0", []Forward{{Port: 0, Dial: dial}}, "forward port 0 is not in 1..65535"},
		{"negative port", []Forward{{Port: -1, Dial: dial}}, "forward port -1 is not in 1..65535"},
		{"port too big", []Forward{{Port: 65536, Dial: dial}}, "forward port 65536 is not in 1..65535"},
		{"duplicate", []Forward{{Port: 5432, Dial: dial}, {Port: 6379, Dial: dial}, {Port: 5432, Dial: dial}}, "forward port 5432 is given twice"},
		{"no dial", []Forward{{Port: 5432}}, "forward port 5432 has no Dial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb, err := d.Start(context.Background(), Spec{Name: testName(t), Command: []string{"true"}, Env: testEnv, Forwards: tc.forwards})
			if err == nil {
				_ = sb.Stop(0)
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}

// TestForwardEgress: a forward is no way around the egress filter. A
// networked sandbox with a forward whose destination is on the host's
// loopback reaches it through the forward only: the destination's own
// port on the host's loopback (through slirp's gateway), the host's other
// addresses, and a port of its own loopback that is not forwarded stay
// out of reach.
func TestForwardEgress(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	srv := newReplyServer(t, false)
	srvPort := strconv.Itoa(srv.l.Addr().(*net.TCPAddr).Port)
	var calls atomic.Int64
	targets := []string{
		"forward 127.0.0.1 5432",
		"dest_gateway 10.0.2.2 " + srvPort,
		"dest_own_loopback 127.0.0.1 " + srvPort,
	}
	mustFail := []string{"dest_gateway"}
	if extIP, extPort := hostListener(t); extIP != "" {
		targets = append(targets, "host_ext "+extIP+" "+extPort)
		mustFail = append(mustFail, "host_ext")
	}
	out, errOut, st := run(t, d, Spec{
		Network:  true,
		Command:  append([]string{"node", "-e", nodeProbe}, targets...),
		Forwards: []Forward{{Port: 5432, Dial: srv.dialer(&calls)}},
	})
	if st.Code != 0 {
		t.Fatalf("status %+v: %s%s", st, out, errOut)
	}
	t.Logf("sandbox:\n%s", out)
	r := results(out)
	if r["forward"] != "ok" {
		t.Errorf("forward: %q, want ok", r["forward"])
	}
	if r["dest_own_loopback"] != "ECONNREFUSED" {
		t.Errorf("dest_own_loopback: %q, want ECONNREFUSED (the sandbox's loopback is its own)", r["dest_own_loopback"])
	}
	for _, name := range mustFail {
		assertRejected(t, r, name)
	}
}

// BenchmarkForwardRoundTrip measures a 64-byte request and its 64-byte
// answer over one open connection: "direct" to an echo server on the
// host's loopback, "forward" to the same server through a forward, from
// a client conn in the sandbox's namespace (so both client and server are
// this Go process and the difference is the forward's two extra hops).
func BenchmarkForwardRoundTrip(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	roundTrips := func(b *testing.B, c net.Conn) {
		defer c.Close()
		msg, reply := bytes.Repeat([]byte("x"), 64), make([]byte, 64)
		for b.Loop() {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(c, reply); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		roundTrips(b, c)
	})
	b.Run("forward", func(b *testing.B) {
		d := testDriver(b)
		s := start(b, d, Spec{
			Command: []string{"sleep", "1000"},
			Forwards: []Forward{{Port: 5432, Dial: func(ctx context.Context) (net.Conn, error) {
				var dialer net.Dialer
				return dialer.DialContext(ctx, "tcp", l.Addr().String())
			}}},
		})
		c, err := s.DialContext(context.Background(), "tcp", "127.0.0.1:5432")
		if err != nil {
			b.Fatal(err)
		}
		roundTrips(b, c)
	})
}

// TestForwardDialFails: when Dial fails, the app's connection is closed at
// once rather than left hanging, and the forward goes on accepting.
func TestForwardDialFails(t *testing.T) {
	t.Parallel()
	d := testDriver(t)
	var calls atomic.Int64
	s := start(t, d, Spec{
		Command: []string{"sleep", "1000"},
		Forwards: []Forward{{Port: 5432, Dial: func(context.Context) (net.Conn, error) {
			calls.Add(1)
			return nil, errors.New("destination down")
		}}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		c, err := s.DialContext(ctx, "tcp", "127.0.0.1:5432")
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("connection %d: read %d, %v; want EOF", i, n, err)
		}
		c.Close()
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Dial called %d times, want 2", n)
	}
}
