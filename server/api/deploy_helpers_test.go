package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

// engine is a test server with a signed-in user, ready to deploy.
type engine struct {
	t      testing.TB
	srv    *testenv.Server
	auth   coderunnerv1connect.AuthServiceClient
	client coderunnerv1connect.DeploymentServiceClient
	token  string
}

func newEngine(t testing.TB, db testenv.Database, opts testenv.Options) *engine {
	t.Helper()
	srv := testenv.Start(t, db, opts)
	token, _ := signUp(t, authClient(srv, protocols()[0]))
	return (&engine{t: t, token: token}).on(srv)
}

// on returns an engine for e's user on srv: a server started again on the
// same data dir and database.
func (e *engine) on(srv *testenv.Server) *engine {
	return &engine{t: e.t, srv: srv, auth: authClient(srv, protocols()[0]), token: e.token,
		client: coderunnerv1connect.NewDeploymentServiceClient(testenv.HTTP1Client(), srv.URL, connect.WithProtoJSON())}
}

// readDir loads a directory as source files.
func readDir(t testing.TB, dir string) []*coderunnerv1.SourceFile {
	return testenv.SourceFiles(t, dir)
}

func example(t testing.TB, name string) []*coderunnerv1.SourceFile {
	return readDir(t, filepath.Join("..", "..", "examples", name))
}

func (e *engine) create(req *coderunnerv1.CreateDeploymentRequest) *coderunnerv1.Deployment {
	e.t.Helper()
	res, err := e.client.CreateDeployment(context.Background(), withToken(req, e.token))
	if err != nil {
		e.t.Fatalf("CreateDeployment %s: %v", req.GetName(), err)
	}
	return res.Msg.GetDeployment()
}

func (e *engine) get(id string) *coderunnerv1.Deployment {
	e.t.Helper()
	res, err := e.client.GetDeployment(context.Background(), withToken(&coderunnerv1.GetDeploymentRequest{Id: id}, e.token))
	if err != nil {
		e.t.Fatalf("GetDeployment: %v", err)
	}
	return res.Msg.GetDeployment()
}

// waitFor polls until the deployment reaches want. Reaching FAILED when
// something else was wanted ends the test at once, with the reason.
func (e *engine) waitFor(id string, want coderunnerv1.DeploymentStatus, timeout time.Duration) *coderunnerv1.Deployment {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := e.get(id)
		if d.GetStatus() == want {
			return d
		}
		if d.GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED {
			e.t.Fatalf("deployment %s failed while waiting for %v: %s", d.GetName(), want, d.GetStatusReason())
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deployment %s is %v (%s) after %s, want %v", d.GetName(), d.GetStatus(), d.GetStatusReason(), timeout, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// events returns the deployment's history, oldest first, as "status: reason".
func (e *engine) events(id string) []string {
	e.t.Helper()
	res, err := e.client.ListDeploymentEvents(context.Background(), withToken(&coderunnerv1.ListDeploymentEventsRequest{DeploymentId: id, PageSize: 200}, e.token))
	if err != nil {
		e.t.Fatalf("ListDeploymentEvents: %v", err)
	}
	var out []string
	for i := len(res.Msg.GetEvents()) - 1; i >= 0; i-- {
		ev := res.Msg.GetEvents()[i]
		out = append(out, strings.TrimPrefix(ev.GetStatus().String(), "DEPLOYMENT_STATUS_")+": "+ev.GetReason())
	}
	return out
}

// logText returns the deployment's stored log lines (the first 5,000),
// one per line.
func (e *engine) logText(id string) string {
	e.t.Helper()
	res, err := e.client.GetLogs(context.Background(), withToken(&coderunnerv1.GetLogsRequest{DeploymentId: id, Limit: 5000}, e.token))
	if err != nil {
		e.t.Fatalf("GetLogs: %v", err)
	}
	var b strings.Builder
	for _, l := range res.Msg.GetEntries() {
		b.WriteString(l.GetText())
		b.WriteByte('\n')
	}
	return b.String()
}

// probeResult is one GET of watchAvailability.
type probeResult struct {
	at   time.Time
	ok   bool   // answered 200
	what string // the error or status otherwise
}

// watchAvailability GETs url through the router every 5 ms until the
// returned stop is called, which returns every result in order.
func (e *engine) watchAvailability(url string) (stop func() []probeResult) {
	client := e.appClient()
	client.Timeout = 5 * time.Second
	done := make(chan struct{})
	results := make(chan []probeResult)
	go func() {
		var all []probeResult
		for {
			select {
			case <-done:
				results <- all
				return
			case <-time.After(5 * time.Millisecond):
			}
			r := probeResult{at: time.Now()}
			if res, err := client.Get(url); err != nil {
				r.what = err.Error()
			} else {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				r.ok, r.what = res.StatusCode == http.StatusOK, res.Status
			}
			all = append(all, r)
		}
	}()
	return func() []probeResult {
		close(done)
		return <-results
	}
}

// failed returns the results that were not a 200.
func failed(results []probeResult) []probeResult {
	var out []probeResult
	for _, r := range results {
		if !r.ok {
			out = append(out, r)
		}
	}
	return out
}

// appClient reaches deployment URLs (http://<slug>.localhost:<port>/)
// through the platform's port, whatever the name resolves to.
func (e *engine) appClient() *http.Client {
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	transport := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	// Before the server stops (cleanups run last-registered first): a
	// connection dialed for a request that another connection took sits
	// in the pool never used, and the server's graceful shutdown waits
	// 5 s for such a connection's first request.
	e.t.Cleanup(transport.CloseIdleConnections)
	return &http.Client{Timeout: 30 * time.Second, Transport: transport}
}

// fetch GETs path on deployment d's URL.
func (e *engine) fetch(d *coderunnerv1.Deployment, path string) (int, string) {
	e.t.Helper()
	res, err := e.appClient().Get(e.appURL(d, path))
	if err != nil {
		e.t.Fatalf("GET %s%s: %v", d.GetUrl(), path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// appURL is path on d's URL (its scheme and host).
func (e *engine) appURL(d *coderunnerv1.Deployment, path string) string {
	e.t.Helper()
	u, err := url.Parse(d.GetUrl())
	if err != nil || d.GetUrl() == "" {
		e.t.Fatalf("deployment URL %q: %v", d.GetUrl(), err)
	}
	return u.Scheme + "://" + u.Host + path
}

// fetchJSON GETs path and decodes a JSON object.
func (e *engine) fetchJSON(d *coderunnerv1.Deployment, path string) map[string]any {
	e.t.Helper()
	status, body := e.fetch(d, path)
	var out map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		e.t.Fatalf("GET %s = %d %s", path, status, body)
	}
	return out
}

const (
	statusRunning   = coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING
	statusStopped   = coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_STOPPED
	statusFailed    = coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED
	statusDestroyed = coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_DESTROYED
)

// runProbe deploys the probe app (testdata/probe) as name and waits until
// it runs.
func (e *engine) runProbe(name string) *coderunnerv1.Deployment {
	e.t.Helper()
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: name, Files: readDir(e.t, "testdata/probe")})
	return e.waitFor(d.GetId(), statusRunning, 30*time.Second)
}
