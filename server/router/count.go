package router

import (
	"io"
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
		t.End(status, time.Since(start), in, cw.n)
	}
}

// countingWriter notes the status and counts body bytes. Unwrap lets
// http.ResponseController (which ReverseProxy uses to flush streams and to
// hijack upgraded connections) reach the server's writer.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
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
