package router

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// directTransport sends bodiless GET and HEAD requests to a replica over a
// pooled keep-alive connection on the calling goroutine, and hands every
// other request to fallback (an http.Transport).
//
// Why: http.Transport gives each connection a reader and a writer
// goroutine, so a proxied request passes through three goroutines and two
// channel handoffs. On a small machine where the router, the app and the
// clients share two cores, each handoff is a thread wakeup, and wakeups
// were most of the router's cost. Reads are most of an app's traffic, and
// a bodiless GET or HEAD is the simple case: the request is written at
// once, the response is read on the same goroutine, and a request that
// finds its pooled connection closed by the app can safely be sent again.
type directTransport struct {
	dial     func(ctx context.Context) (net.Conn, error)
	fallback http.RoundTripper
	maxIdle  int           // idle connections kept per replica
	idleFor  time.Duration // an idle connection older than this is closed

	mu    sync.Mutex
	idle  map[string][]*directConn // by replica (the outgoing URL's host), oldest first
	sweep *time.Timer              // set while idle connections exist
}

type directConn struct {
	conn     net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	replica  string
	idleFrom time.Time
}

func newDirectTransport(dial func(ctx context.Context) (net.Conn, error), fallback http.RoundTripper, maxIdle int, idleFor time.Duration) *directTransport {
	return &directTransport{dial: dial, fallback: fallback, maxIdle: maxIdle, idleFor: idleFor, idle: map[string][]*directConn{}}
}

// RoundTrip implements http.RoundTripper.
func (t *directTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if (req.Method != http.MethodGet && req.Method != http.MethodHead) ||
		(req.Body != nil && req.Body != http.NoBody) || req.Header.Get("Upgrade") != "" {
		return t.fallback.RoundTrip(req)
	}
	c, reused, err := t.get(req.Context(), req.URL.Host)
	if err != nil {
		return nil, err
	}
	res, err := t.exchange(c, req)
	if err != nil && reused && req.Context().Err() == nil {
		// The app may have closed the idle connection (Node closes them
		// after 5 s) just as it was taken; GET and HEAD are safe to send
		// again, once, on a new connection.
		if c, err = t.dialNew(req.Context(), req.URL.Host); err != nil {
			return nil, err
		}
		res, err = t.exchange(c, req)
	}
	return res, err
}

// exchange writes req on c and reads the response head. The returned
// response's body gives c back to the pool once read to its end.
func (t *directTransport) exchange(c *directConn, req *http.Request) (*http.Response, error) {
	// A client that leaves ends the wait: the deadline wakes the blocked
	// read, and the connection, left mid-response, is closed.
	stop := context.AfterFunc(req.Context(), func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = c.conn.Close()
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	if err := req.Write(c.bw); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	for {
		res, err := http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		if res.StatusCode >= 200 || res.StatusCode == http.StatusSwitchingProtocols {
			// A response without a body (HEAD, 204, 304, length 0) is read
			// to its end already.
			res.Body = &directBody{body: res.Body, c: c, t: t, stop: stop, reusable: !res.Close, sawEOF: res.Body == http.NoBody}
			return res, nil
		}
		// An informational answer (103 Early Hints) precedes the real
		// one; it has no body.
	}
}

// directBody returns its connection to the pool when the response was read
// to its end and nothing else is pending on it.
type directBody struct {
	body     io.ReadCloser
	c        *directConn
	t        *directTransport
	stop     func() bool
	reusable bool
	sawEOF   bool
	closed   bool
}

func (b *directBody) Read(p []byte) (int, error) {
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.sawEOF = true
	}
	return n, err
}

func (b *directBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	uncancelled := b.stop()
	if b.sawEOF && uncancelled && b.reusable && b.c.br.Buffered() == 0 {
		_ = b.body.Close()
		b.t.put(b.c)
		return nil
	}
	// Unread body, a cancelled request, or an app that asked to close:
	// the connection cannot carry another request.
	return b.c.conn.Close()
}

func (t *directTransport) get(ctx context.Context, replica string) (*directConn, bool, error) {
	t.mu.Lock()
	pool := t.idle[replica]
	if n := len(pool); n > 0 {
		c := pool[n-1] // the most recently used is the least likely closed
		pool[n-1] = nil
		t.idle[replica] = pool[:n-1]
		t.mu.Unlock()
		return c, true, nil
	}
	t.mu.Unlock()
	c, err := t.dialNew(ctx, replica)
	return c, false, err
}

func (t *directTransport) dialNew(ctx context.Context, replica string) (*directConn, error) {
	conn, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	return &directConn{conn: conn, br: bufio.NewReader(conn), bw: bufio.NewWriter(conn), replica: replica}, nil
}

func (t *directTransport) put(c *directConn) {
	c.idleFrom = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	pool := t.idle[c.replica]
	if len(pool) >= t.maxIdle {
		_ = c.conn.Close()
		return
	}
	t.idle[c.replica] = append(pool, c)
	if t.sweep == nil {
		t.sweep = time.AfterFunc(t.idleFor, t.closeIdle)
	}
}

// closeIdle closes connections idle for longer than idleFor, so a stopped
// replica's connections do not stay open, and runs again while any remain.
func (t *directTransport) closeIdle() {
	cutoff := time.Now().Add(-t.idleFor)
	t.mu.Lock()
	defer t.mu.Unlock()
	for replica, pool := range t.idle {
		old := 0
		for old < len(pool) && pool[old].idleFrom.Before(cutoff) {
			_ = pool[old].conn.Close()
			old++
		}
		if old == len(pool) {
			delete(t.idle, replica)
			continue
		}
		t.idle[replica] = append(pool[:0], pool[old:]...)
	}
	if len(t.idle) == 0 {
		t.sweep = nil
		return
	}
	t.sweep.Reset(t.idleFor)
}
