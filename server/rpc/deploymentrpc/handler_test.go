package deploymentrpc_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/auth"
	"github.com/coderunner/coderunner/server/logs"
	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/orchestrator/sqlstore"
	"github.com/coderunner/coderunner/server/projects"
	"github.com/coderunner/coderunner/server/rpc/deploymentrpc"
	"github.com/coderunner/coderunner/server/sandbox"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
	"github.com/coderunner/coderunner/server/store"
)

// These tests run the DeploymentService's transport over an orchestrator
// on sandboxtest's driver: conversions, error codes and streams, without
// root. Authentication is the interceptor's business (authrpc); here every
// call is the one user's.

const owner = "01a00000-0000-7000-8000-000000000001"

// asOwner puts the principal the auth interceptor would.
type asOwner struct{}

func (asOwner) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		return next(auth.WithPrincipal(ctx, &auth.Principal{User: auth.User{ID: owner}}), req)
	}
}

func (asOwner) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (asOwner) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		return next(auth.WithPrincipal(ctx, &auth.Principal{User: auth.User{ID: owner}}), conn)
	}
}

func newClient(t *testing.T) coderunnerv1connect.DeploymentServiceClient {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	db, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.ExecContext(ctx, `INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES (?, 'a@example.com', 'x', ?, ?)`, owner, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	logSvc := logs.New(db, logs.Options{Logger: logger})
	drv := &sandboxtest.Driver{Behave: func(sandbox.Spec) sandboxtest.Behaviour {
		return sandboxtest.Behaviour{Serves: true, Output: "hello from the app\n"}
	}}
	m, err := orchestrator.New(sqlstore.New(db), drv, logSvc, orchestrator.Config{
		DataDir: dir, AppsDomain: "apps.test", PublicPort: 8080,
		Limits:       sandbox.Limits{MemoryBytes: 256 << 20, CPUMillicores: 1000, Pids: 64},
		BuildTimeout: 10 * time.Second, ReadyTimeout: 2 * time.Second, CrashBackoff: 10 * time.Millisecond,
		DrainTimeout: time.Second, MaxDeploymentsPerUser: 10,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(logSvc.Close) // after the manager: the apps' last lines are stored
	t.Cleanup(m.Close)
	path, handler := coderunnerv1connect.NewDeploymentServiceHandler(deploymentrpc.NewHandler(m, logSvc, projects.New(db, m, nil), nil, logger),
		connect.WithInterceptors(asOwner{}))
	mux := http.NewServeMux()
	mux.Handle(path, handler)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return coderunnerv1connect.NewDeploymentServiceClient(srv.Client(), srv.URL)
}

func codeOf(err error) connect.Code {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code()
	}
	return connect.CodeUnknown
}

func TestDeploymentRoundTrip(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := newClient(t)
	created, err := c.CreateDeployment(ctx, connect.NewRequest(&coderunnerv1.CreateDeploymentRequest{
		Name: "hello",
		Files: []*coderunnerv1.SourceFile{
			{Path: "package.json", Content: []byte(`{"name":"hello"}`)},
			{Path: "index.js", Content: []byte(`require("http").createServer((q, s) => s.end("hi")).listen(process.env.PORT)`)},
		},
	}))
	if err != nil {
		t.Fatal(err)
	}
	d := created.Msg.GetDeployment()
	if d.GetRuntime() != coderunnerv1.Runtime_RUNTIME_NODEJS || d.GetStatus() != coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_PENDING ||
		d.GetUrl() != "http://"+d.GetSlug()+".apps.test:8080/" {
		t.Fatalf("created %v", d)
	}

	// The watch's first message is the current state; RUNNING follows.
	watch, err := c.WatchDeployment(ctx, connect.NewRequest(&coderunnerv1.WatchDeploymentRequest{Id: d.GetId()}))
	if err != nil {
		t.Fatal(err)
	}
	for watch.Receive() {
		if watch.Msg().GetEvent().GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING {
			break
		}
	}
	if watch.Err() != nil {
		t.Fatal(watch.Err())
	}
	_ = watch.Close()

	logStream, err := c.StreamLogs(ctx, connect.NewRequest(&coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true}))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for !found && logStream.Receive() {
		for _, e := range logStream.Msg().GetEntries() {
			found = found || e.GetText() == "hello from the app"
		}
	}
	if !found { // the stream follows: only the test's deadline ends it
		t.Fatalf("the app's line never came: %v", logStream.Err())
	}
	_ = logStream.Close()

	_, err = c.StartDeployment(ctx, connect.NewRequest(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}))
	if codeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "is already running") {
		t.Errorf("StartDeployment of a running deployment: %v", err)
	}
	_, err = c.GetDeployment(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: "01a00000-0000-7000-8000-00000000dead"}))
	if codeOf(err) != connect.CodeNotFound {
		t.Errorf("GetDeployment of an unknown id: %v", err)
	}
	_, err = c.ListDeployments(ctx, connect.NewRequest(&coderunnerv1.ListDeploymentsRequest{PageToken: "not-a-token"}))
	if codeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "page_token is not one this server issued") {
		t.Errorf("ListDeployments with a bad page token: %v", err)
	}
	list, err := c.ListDeployments(ctx, connect.NewRequest(&coderunnerv1.ListDeploymentsRequest{
		Status: coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING,
	}))
	if err != nil || len(list.Msg.GetDeployments()) != 1 || list.Msg.GetTotalSize() != 1 {
		t.Fatalf("ListDeployments(running) = %v, %v", list, err)
	}
}
