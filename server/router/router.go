// Package router serves deployments at their own host names
// (http://<slug>.<apps-domain>:<port>/) by proxying to a running replica
// inside its sandbox. Everything else falls through to the platform's own
// handler.
package router

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/appruntime"
	"github.com/coderunner/coderunner/server/metrics"
	"github.com/coderunner/coderunner/server/orchestrator"
)

// Router routes by Host header.
type Router struct {
	manager *orchestrator.Manager
	suffix  string // "." + apps domain
	next    http.Handler
	proxy   *httputil.ReverseProxy
	traffic *metrics.Traffic
	logger  *slog.Logger
}

type dialKey struct{}

// Connections to a replica kept open between requests, and for how long.
const (
	maxIdlePerReplica = 256
	idleTimeout       = 30 * time.Second
)

var errNoReplica = errors.New("router: no replica chosen")

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

// New returns a Router for appsDomain in front of next. Requests to
// deployments are counted in traffic.
func New(manager *orchestrator.Manager, appsDomain string, next http.Handler, traffic *metrics.Traffic, logger *slog.Logger) *Router {
	appAddr := "127.0.0.1:" + strconv.Itoa(appruntime.AppPort)
	// Each request carries the dialer of the replica chosen for it; the
	// connection is made inside that replica's network namespace.
	dial := func(ctx context.Context) (net.Conn, error) {
		dial, ok := ctx.Value(dialKey{}).(dialFunc)
		if !ok {
			return nil, errNoReplica
		}
		return dial(ctx, "tcp", appAddr)
	}
	fallback := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		// Connections are pooled per replica (the outgoing Host names it);
		// keep-alive makes a proxied request cost no new dial.
		MaxIdleConnsPerHost: maxIdlePerReplica,
		IdleConnTimeout:     idleTimeout,
		DisableCompression:  true,
	}
	r := &Router{manager: manager, suffix: "." + appsDomain, next: next, traffic: traffic, logger: logger}
	r.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = pr.In.Context().Value(replicaKey{}).(string)
			pr.Out.Host = pr.In.Host // the app sees the public host name
			pr.SetXForwarded()
		},
		Transport:  newDirectTransport(dial, fallback, maxIdlePerReplica, idleTimeout),
		BufferPool: newBufferPool(),
		// FlushInterval stays zero: ReverseProxy already flushes every write
		// of a streaming response (server-sent events, or any body without
		// a Content-Length), and not flushing sized responses early saves a
		// write per request.
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			r.logger.Debug("proxy error", "host", req.Host, "error", err)
			page(w, http.StatusBadGateway, "The app did not answer", "The app closed the connection or is restarting. Try again in a moment.")
		},
	}
	return r
}

type replicaKey struct{}

// ServeHTTP implements http.Handler.
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	slug, ok := r.slugOf(req.Host)
	if !ok {
		r.next.ServeHTTP(w, req)
		return
	}
	target, d, err := r.manager.Route(req.Context(), slug)
	switch {
	case err != nil:
		r.logger.Error("route", "slug", slug, "error", err)
		page(w, http.StatusInternalServerError, "Internal error", "The platform could not look up this app.")
	case target != nil:
		r.serve(w, req, target)
	case d == nil:
		page(w, http.StatusNotFound, "No app here", "No deployment is served at "+req.Host+".")
	case r.hold(w, req, slug, d):
	default:
		w, finish := r.count(d.ID, w, req)
		defer finish()
		w.Header().Set("Retry-After", "5")
		page(w, http.StatusServiceUnavailable, "App "+statusWords(d), "The deployment "+d.Name+" is "+statusWords(d)+".")
	}
}

// serve counts req and proxies it to target's replica.
func (r *Router) serve(w http.ResponseWriter, req *http.Request, target *orchestrator.Target) {
	defer target.Done()
	counted, finish := r.count(target.DeploymentID, w, req)
	defer finish()
	r.forward(counted, req, target)
}

// forward proxies req to target's replica.
func (r *Router) forward(w http.ResponseWriter, req *http.Request, target *orchestrator.Target) {
	ctx := context.WithValue(req.Context(), dialKey{}, dialFunc(target.Dial))
	ctx = context.WithValue(ctx, replicaKey{}, target.Name)
	r.proxy.ServeHTTP(w, req.WithContext(ctx))
}

// slugOf extracts the slug from a host like "hello-x1y2z3.localhost:8080".
func (r *Router) slugOf(host string) (string, bool) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	slug, ok := strings.CutSuffix(host, r.suffix)
	if !ok || slug == "" || strings.Contains(slug, ".") {
		return "", false
	}
	return slug, true
}

// statusWords names a deployment's state for people: "building",
// "stopped", "failed: <reason>".
func statusWords(d *orchestrator.Deployment) string {
	switch d.Status {
	case orchestrator.StatusFailed:
		reason, _, _ := strings.Cut(d.StatusReason, "\n")
		return "failed: " + reason
	case orchestrator.StatusPending, orchestrator.StatusProvisioning:
		return "starting"
	case orchestrator.StatusRunning:
		return "restarting"
	case orchestrator.StatusIdle:
		return "asleep"
	default:
		return string(d.Status)
	}
}

func page(w http.ResponseWriter, status int, title, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>%s</title><h1>%s</h1><p>%s</p><p><small>CodeRunner</small></p>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(message))
}
