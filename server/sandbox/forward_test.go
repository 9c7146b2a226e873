package sandbox

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer is a host-side TCP server that answers each line with
// "echo: " and the line, and counts the connections it has open.
type echoServer struct {
	ln   net.Listener
	open atomic.Int64
}

func newEchoServer(t testing.TB) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	e := &echoServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.open.Add(1)
			go func() {
				defer e.open.Add(-1)
				defer c.Close()
				// Reads until the client half-closes, then answers once
				// more: the half-close must reach here.
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if line != "" {
						_, _ = io.WriteString(c, "echo: "+line)
					}
					if err != nil {
						_, _ = io.WriteString(c, "bye\n")
						return
					}
				}
			}()
		}
	}()
	return e
}

func (e *echoServer) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "tcp", e.ln.Addr().String())
}

// forwardClient connects to 127.0.0.1:5432 as its first action, sends a
// line, half-closes and prints everything it reads back.
const forwardClient = `
const s = require("net").connect(5432, "127.0.0.1", () => { s.write("ping\n"); s.end(); });
let got = "";
s.on("data", (d) => { got += d; });
s.on("end", () => { console.log(JSON.stringify(got)); });
s.on("error", (e) => { console.log("error " + e.code); });
`

// TestForward: an app reaches a forwarded port on its first line, from a
// sandbox with and without network; its half-close reaches the
// destination; the egress filter still holds.
func TestForward(t *testing.T) {
	d := testDriver(t)
	echo := newEchoServer(t)
	var dials atomic.Int64
	forward := Forward{Port: 5432, Dial: func(ctx context.Context) (net.Conn, error) {
		dials.Add(1)
		return echo.dial(ctx)
	}}
	for _, network := range []bool{false, true} {
		out, errOut, st := run(t, d, Spec{Command: []string{"node", "-e", forwardClient}, Network: network, Forwards: []Forward{forward}})
		if strings.TrimSpace(out) != `"echo: ping\nbye\n"` || st.Code != 0 {
			t.Errorf("network %v: the app read %q (stderr %q, exit %d), want the echo and the reply to its half-close", network, out, errOut, st.Code)
		}
	}
	if dials.Load() != 2 {
		t.Errorf("Dial called %d times, want 2", dials.Load())
	}
	// The forward does not open the host: 127.0.0.1 of the host is still
	// refused for another port.
	out, _, _ := run(t, d, Spec{Command: []string{"node", "-e", strings.ReplaceAll(forwardClient, "5432", "5433")}, Network: true, Forwards: []Forward{forward}})
	if !strings.Contains(out, "error ECONNREFUSED") {
		t.Errorf("another port of the sandbox's 127.0.0.1: %q, want refused", out)
	}
}

// TestForwardClosedWithTheSandbox: stopping a sandbox closes the
// connections its forward carries and Dial is not called again.
func TestForwardClosedWithTheSandbox(t *testing.T) {
	d := testDriver(t)
	echo := newEchoServer(t)
	hold := `const s = require("net").connect(5432, "127.0.0.1", () => { s.write("hold\n"); console.log("connected"); }); setInterval(() => {}, 1000);`
	var out syncBuffer
	s := start(t, d, Spec{Command: []string{"node", "-e", hold}, Stdout: &out, Forwards: []Forward{{Port: 5432, Dial: echo.dial}}})
	waitFor(t, &out, "connected", 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for echo.open.Load() != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if echo.open.Load() != 1 {
		t.Fatalf("the destination has %d connections, want 1", echo.open.Load())
	}
	if err := s.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for echo.open.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if echo.open.Load() != 0 {
		t.Errorf("the destination still has %d connections after the sandbox stopped", echo.open.Load())
	}
}

// TestForwardRefused: forwards that cannot be served fail the start.
func TestForwardRefused(t *testing.T) {
	d := testDriver(t)
	dial := func(context.Context) (net.Conn, error) { return nil, io.EOF }
	for name, forwards := range map[string][]Forward{
		"not a TCP port":  {{Port: 0, Dial: dial}},
		"given twice":     {{Port: 5432, Dial: dial}, {Port: 5432, Dial: dial}},
		"nothing to dial": {{Port: 5432}},
	} {
		_, err := d.Start(context.Background(), Spec{Name: testName(t), Command: []string{"true"}, Env: testEnv, Forwards: forwards})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Start = %v", name, err)
		}
	}
}

// BenchmarkForwardRoundTrip: one request and its answer through a
// forward, against the same over a direct loopback connection on the host.
func BenchmarkForwardRoundTrip(b *testing.B) {
	d := testDriver(b)
	echo := newEchoServer(b)
	roundTrips := func(b *testing.B, c net.Conn) {
		r := bufio.NewReader(c)
		for b.Loop() {
			if _, err := io.WriteString(c, "x\n"); err != nil {
				b.Fatal(err)
			}
			if _, err := r.ReadString('\n'); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("direct", func(b *testing.B) {
		c, err := echo.dial(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		roundTrips(b, c)
	})
	b.Run("forward", func(b *testing.B) {
		s := start(b, d, Spec{Command: []string{"sleep", "1000"}, Forwards: []Forward{{Port: 5432, Dial: echo.dial}}})
		c, err := s.DialContext(context.Background(), "tcp", "127.0.0.1:5432")
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		roundTrips(b, c)
	})
}
