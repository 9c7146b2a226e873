package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

func get(t *testing.T, url string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := testenv.HTTP1Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(body)
}

// TestReflectionAndGRPCHealth checks what grpcurl and buf curl rely on.
func TestReflectionAndGRPCHealth(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	ctx := context.Background()

	stream := grpcreflect.NewClient(testenv.H2CClient(), srv.URL, connect.WithGRPC()).NewStream(ctx)
	names, err := stream.ListServices()
	if err != nil {
		t.Fatalf("reflection ListServices: %v", err)
	}
	stream.Close()
	listed := map[string]bool{}
	for _, n := range names {
		listed[string(n)] = true
	}
	for _, want := range []string{coderunnerv1connect.AuthServiceName, coderunnerv1connect.DeploymentServiceName, coderunnerv1connect.MetricsServiceName, grpchealth.HealthV1ServiceName} {
		if !listed[want] {
			t.Errorf("reflection does not list %s (got %v)", want, names)
		}
	}

	health := grpchealth.NewClient(testenv.H2CClient(), srv.URL, connect.WithGRPC())
	for _, service := range []string{"", coderunnerv1connect.AuthServiceName} {
		res, err := health.Check(ctx, &grpchealth.CheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health Check(%q): %v", service, err)
		}
		if res.Status != grpchealth.StatusServing {
			t.Errorf("health Check(%q) = %v, want SERVING", service, res.Status)
		}
	}
	_, err = health.Check(ctx, &grpchealth.CheckRequest{Service: "no.such.Service"})
	wantCode(t, err, connect.CodeNotFound, "unknown service")
}

// bufBinary finds the buf CLI that `make` installs with the frontend
// packages; `make test` passes its path in BUF_BIN.
func bufBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("BUF_BIN")
	if path == "" {
		path, _ = filepath.Abs("../../frontend/node_modules/.bin/buf")
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("buf CLI not found at %s: run the tests with `make test`, which installs it", path)
	}
	return path
}

// TestBufCurlOverGRPC drives a register → login → verify round trip with a
// real gRPC tool that knows nothing but the server's reflection.
func TestBufCurlOverGRPC(t *testing.T) {
	buf := bufBinary(t)
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	call := func(method, body string, header ...string) map[string]any {
		t.Helper()
		args := []string{"curl", "--protocol", "grpc", "--http2-prior-knowledge", "-d", body}
		for _, h := range header {
			args = append(args, "-H", h)
		}
		args = append(args, srv.URL+"/coderunner.v1.AuthService/"+method)
		out, err := exec.Command(buf, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("buf curl %s: %v\n%s", method, err, out)
		}
		var res map[string]any
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("buf curl %s printed %s", method, out)
		}
		return res
	}
	email := uniqueEmail("bufcurl")
	creds := `{"email":"` + email + `","password":"` + testPassword + `"}`
	call("Register", creds)
	login := call("Login", creds)
	token, _ := login["token"].(string)
	if token == "" {
		t.Fatalf("Login printed no token: %v", login)
	}
	verify := call("Verify", `{}`, "Authorization: Bearer "+token)
	user, _ := verify["user"].(map[string]any)
	if user["email"] != email {
		t.Errorf("Verify printed %v, want user %s", verify, email)
	}
}

// TestHealthEndpoints checks liveness, readiness, and that readiness (HTTP
// and gRPC) reports down when the data dir is gone.
func TestHealthEndpoints(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srv := testenv.Start(t, db, testenv.Options{})
			status, _, body := get(t, srv.URL+"/health", nil)
			if status != 200 || !strings.Contains(body, `"ok"`) {
				t.Errorf("/health = %d %s", status, body)
			}
			status, _, body = get(t, srv.URL+"/api/health", nil)
			var report struct {
				Status string `json:"status"`
				Checks map[string]struct {
					Status    string   `json:"status"`
					Detail    string   `json:"detail"`
					LatencyMS *float64 `json:"latency_ms"`
				} `json:"checks"`
			}
			if err := json.Unmarshal([]byte(body), &report); err != nil {
				t.Fatalf("/api/health is not JSON: %s", body)
			}
			if status != 200 || report.Status != "ok" {
				t.Fatalf("/api/health = %d %s", status, body)
			}
			for _, name := range []string{"database", "data_dir", "sandbox"} {
				if report.Checks[name].Status != "ok" {
					t.Errorf("check %s = %+v", name, report.Checks[name])
				}
			}
			if report.Checks["database"].Detail != map[string]string{"sqlite": "sqlite", "postgres": "pg"}[db.Name] || report.Checks["database"].LatencyMS == nil {
				t.Errorf("database check = %+v", report.Checks["database"])
			}

			if err := os.RemoveAll(srv.Config.DataDir); err != nil {
				t.Fatal(err)
			}
			status, _, body = get(t, srv.URL+"/api/health", nil)
			if status != http.StatusServiceUnavailable || !strings.Contains(body, "data dir not writable") {
				t.Errorf("/api/health without a data dir = %d %s, want 503", status, body)
			}
			res, err := grpchealth.NewClient(testenv.H2CClient(), srv.URL, connect.WithGRPC()).Check(context.Background(), &grpchealth.CheckRequest{})
			if err != nil || res.Status != grpchealth.StatusNotServing {
				t.Errorf("gRPC health without a data dir = %v, %v; want NOT_SERVING", res, err)
			}
			if status, _, _ := get(t, srv.URL+"/health", nil); status != 200 {
				t.Errorf("/health (liveness) = %d, want 200 even when not ready", status)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	req, _ := http.NewRequest(http.MethodOptions, srv.URL+coderunnerv1connect.AuthServiceVerifyProcedure, nil)
	req.Header.Set("Origin", "http://dashboard.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization,connect-protocol-version,content-type") // sorted, as browsers send it
	res, err := testenv.HTTP1Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("preflight status %d", res.StatusCode)
	}
	allowed := strings.ToLower(res.Header.Get("Access-Control-Allow-Headers"))
	for _, h := range []string{"authorization", "content-type", "connect-protocol-version"} {
		if !strings.Contains(allowed, h) {
			t.Errorf("preflight allows headers %q, missing %s", allowed, h)
		}
	}
	if res.Header.Get("Access-Control-Allow-Origin") == "" {
		t.Error("preflight has no Access-Control-Allow-Origin")
	}

	r := post(t, srv, coderunnerv1connect.AuthServiceVerifyProcedure, "application/json", `{}`, map[string]string{"Origin": "http://dashboard.example"})
	if r.status != 401 {
		t.Errorf("cross-origin call status %d", r.status)
	}
}

// TestConnectGET checks that read-only RPCs answer GET, as curl users and
// HTTP caches expect.
func TestConnectGET(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	token, email := signUp(t, authClient(srv, protocols()[0]))
	status, _, body := get(t, srv.URL+coderunnerv1connect.AuthServiceVerifyProcedure+"?encoding=json&message=%7B%7D",
		map[string]string{"Authorization": "Bearer " + token})
	if status != 200 || !strings.Contains(body, email) {
		t.Errorf("GET Verify = %d %s", status, body)
	}
}

// TestMetricsEndpoint checks that RPCs show up in /metrics and /api/metrics
// with procedure and code labels.
func TestMetricsEndpoint(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	client := authClient(srv, protocols()[0])
	signUp(t, client)
	_, err := client.Verify(context.Background(), connect.NewRequest(&coderunnerv1.VerifyRequest{}))
	wantCode(t, err, connect.CodeUnauthenticated)

	for _, path := range []string{"/metrics", "/api/metrics"} {
		status, _, body := get(t, srv.URL+path, nil)
		if status != 200 {
			t.Fatalf("%s = %d", path, status)
		}
		for _, want := range []string{
			`coderunner_rpc_handled_total{code="ok",procedure="/coderunner.v1.AuthService/Login"} 1`,
			`coderunner_rpc_handled_total{code="ok",procedure="/coderunner.v1.AuthService/Register"} 1`,
			`coderunner_rpc_handled_total{code="unauthenticated",procedure="/coderunner.v1.AuthService/Verify"} 1`,
			`coderunner_rpc_duration_seconds_count{procedure="/coderunner.v1.AuthService/Login",stream="false"} 1`,
			"go_goroutines ",
			"process_resident_memory_bytes ",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", path, want)
			}
		}
	}
}

// TestLaterServices checks that deployment and metrics RPCs are
// authenticated and validated on the unary and the streaming path.
func TestLaterServices(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	token, _ := signUp(t, authClient(srv, protocols()[0]))
	ctx := context.Background()
	const id = "01900000-0000-7000-8000-000000000000"
	for _, p := range protocols() {
		t.Run(p.name, func(t *testing.T) {
			deployments := coderunnerv1connect.NewDeploymentServiceClient(p.client, srv.URL, p.opts...)
			_, err := deployments.GetDeployment(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: id}))
			wantCode(t, err, connect.CodeUnauthenticated, "missing credentials")
			_, err = deployments.GetDeployment(ctx, withToken(&coderunnerv1.GetDeploymentRequest{Id: "nope"}, token))
			wantCode(t, err, connect.CodeInvalidArgument, "id")
			_, err = deployments.GetDeployment(ctx, withToken(&coderunnerv1.GetDeploymentRequest{Id: id}, token))
			wantCode(t, err, connect.CodeNotFound)

			// The streaming path is guarded the same way.
			stream, err := deployments.WatchDeployment(ctx, connect.NewRequest(&coderunnerv1.WatchDeploymentRequest{Id: id}))
			if err == nil {
				for stream.Receive() {
					t.Error("unauthenticated stream received a message")
				}
				err = stream.Err()
			}
			wantCode(t, err, connect.CodeUnauthenticated, "missing credentials")
			stream, err = deployments.WatchDeployment(ctx, withToken(&coderunnerv1.WatchDeploymentRequest{Id: "nope"}, token))
			if err == nil {
				for stream.Receive() {
				}
				err = stream.Err()
			}
			wantCode(t, err, connect.CodeInvalidArgument, "id")

			metrics := coderunnerv1connect.NewMetricsServiceClient(p.client, srv.URL, p.opts...)
			_, err = metrics.GetOverview(ctx, connect.NewRequest(&coderunnerv1.GetOverviewRequest{}))
			wantCode(t, err, connect.CodeUnauthenticated, "missing credentials")
		})
	}
}

// TestGracefulShutdownEndsStreams opens a long-lived stream and checks that
// shutdown ends it cleanly instead of waiting out the shutdown timeout.
func TestGracefulShutdownEndsStreams(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := grpchealth.NewClient(testenv.H2CClient(), srv.URL, connect.WithGRPC()).Watch(ctx, &grpchealth.CheckRequest{})
	first := <-events
	if first.Err != nil || first.Response.Status != grpchealth.StatusServing {
		t.Fatalf("first watch event = %+v", first)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	for event := range events {
		if event.Err != nil {
			t.Errorf("stream ended with an error: %v", event.Err)
		}
	}
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(time.Duration(srv.Config.ShutdownTimeout)):
		t.Error("shutdown did not finish within the shutdown timeout")
	}
}

// TestDashboardRoutes checks, through the real server, that / serves the
// dashboard (or, in a binary built without it, the page saying how to
// build it), that client-side routes get the same page, and that unknown
// /api/ paths stay 404.
func TestDashboardRoutes(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	status, header, home := get(t, srv.URL+"/", nil)
	if status != 200 || !strings.HasPrefix(header.Get("Content-Type"), "text/html") ||
		!(strings.Contains(home, `<div id="root"`) || strings.Contains(home, "built without the web dashboard")) {
		t.Errorf("GET / = %d %s %.200s", status, header.Get("Content-Type"), home)
	}
	for _, route := range []string{"/deployments/01900000-0000-7000-8000-000000000000", "/account", "/new"} {
		if status, _, body := get(t, srv.URL+route, nil); status != 200 || body != home {
			t.Errorf("GET %s = %d, want the page / serves", route, status)
		}
	}
	if status, _, _ := get(t, srv.URL+"/api/no/such/thing", nil); status != 404 {
		t.Errorf("GET /api/no/such/thing = %d, want 404", status)
	}
}
