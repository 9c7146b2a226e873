package router

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// count starts measuring a request to deploymentID and returns the writer
// to answer it through plus the func that records it once answered.
func (r *Router) count(deploymentID string, w http.ResponseWriter, req *http.Request) (http.ResponseWriter, func()) {
	t := r.traffic.For(deploymentID)
	t.Begin()
	start := time.Now()
	cw := &countingWriter{ResponseWriter: w}
	var body *countingBody
	if req.Body != nil && req.Body != http.NoBody {
		body = &countingBody{ReadCloser: req.Body}
		req.Body = body
	}
	return cw, func() {
		var in int64
		if body != nil {
			in = body.n.Load()
		}
		status := cw.status
		if status == 0 {
			// The handler wrote nothing: a client that left before the
			// answer. net/http would send 200 for an empty response.
			status = http.StatusOK
		}
		// An upgraded connection (WebSocket) has ended by now: ReverseProxy
		// returns once both directions' copies are done, or one failed
		// (then the other may still count a last read; atomics, so that is
		// safe, and the connection is already closed).
		t.End(status, time.Since(start), in+cw.upgradedIn.Load(), cw.n+cw.upgradedOut.Load())
	}
}

// countingWriter notes the status and counts body bytes. Unwrap lets
// http.ResponseController (which ReverseProxy uses to flush streams and to
// hijack upgraded connections) reach the server's writer.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
	// Bytes read from and written to the client over the connection after
	// an upgrade, by ReverseProxy's copy goroutines.
	upgradedIn, upgradedOut atomic.Int64
}

// Hijack hands ReverseProxy the client's connection for an upgrade
// (WebSocket), counting the bytes that then cross it.
func (w *countingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &countingConn{Conn: conn, in: &w.upgradedIn, out: &w.upgradedOut}, brw, nil
}

// countingConn counts the bytes read and written on an upgraded connection.
type countingConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

func (w *countingWriter) WriteHeader(status int) {
	if w.status == 0 || w.status < 200 {
		// Informational (1xx) headers may precede the final status; the
		// final one is what the request is counted as, except 101.
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countingBody counts request body bytes. The proxy's transport reads the
// body on its own goroutine, hence the atomic.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}
