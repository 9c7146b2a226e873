package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestServersShareOneDatabase: two servers on one PostgreSQL database each
// run only their own deployments. The second sees the first's deployment
// but refuses to act on it, and restarting it does not start a second copy.
func TestServersShareOneDatabase(t *testing.T) {
	db, ok := testenv.Postgres(t)
	if !ok {
		t.Skip("needs PostgreSQL (TEST_DATABASE_URL)")
	}
	a := newEngine(t, db, testenv.Options{})
	b := testenv.Start(t, db, testenv.Options{})
	bClient := coderunnerv1connect.NewDeploymentServiceClient(testenv.HTTP1Client(), b.URL, connect.WithProtoJSON())
	ctx := context.Background()

	d := a.create(&coderunnerv1.CreateDeploymentRequest{Name: "shared", Files: example(t, "node-hello")})
	a.waitFor(d.GetId(), statusRunning, 30*time.Second)

	got, err := bClient.GetDeployment(ctx, withToken(&coderunnerv1.GetDeploymentRequest{Id: d.GetId()}, a.token))
	if err != nil || got.Msg.GetDeployment().GetStatus() != statusRunning {
		t.Fatalf("GetDeployment on the other server = %v, %v", got, err)
	}
	_, err = bClient.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, a.token))
	wantCode(t, err, connect.CodeFailedPrecondition, "runs on another CodeRunner server")

	// A third server started on the same database reconciles only its own
	// (none): the deployment keeps exactly its own history.
	testenv.Start(t, db, testenv.Options{})
	time.Sleep(200 * time.Millisecond)
	if events := strings.Join(a.events(d.GetId()), "\n"); strings.Contains(events, "server restarted") {
		t.Errorf("another server reconciled this deployment:\n%s", events)
	}
	if _, err := a.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, a.token)); err != nil {
		t.Errorf("its own server cannot stop it: %v", err)
	}
}

// TestCrossServerStreams: a client of server B follows the logs and status
// of a deployment that runs under server A (PostgreSQL LISTEN/NOTIFY).
func TestCrossServerStreams(t *testing.T) {
	db, ok := testenv.Postgres(t)
	if !ok {
		t.Skip("needs PostgreSQL (TEST_DATABASE_URL)")
	}
	a := newEngine(t, db, testenv.Options{})
	b := testenv.Start(t, db, testenv.Options{})
	bClient := coderunnerv1connect.NewDeploymentServiceClient(testenv.H2CClient(), b.URL, connect.WithGRPC())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	d := a.runProbe("remote")
	time.Sleep(300 * time.Millisecond) // B's listener connects in the background

	watch, err := bClient.WatchDeployment(ctx, withToken(&coderunnerv1.WatchDeploymentRequest{Id: d.GetId()}, a.token))
	if err != nil {
		t.Fatal(err)
	}
	f := follow(ctx, bClient, a.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true, Contains: "remote "})
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	a.fetchJSON(d, "/print?n=500&tag=remote")
	f.waitFor(t, "remote ", 500, 10*time.Second)
	t.Logf("500 lines reached server B's follower in %s", time.Since(start))
	for i, text := range f.texts("remote ") {
		if text != "remote "+itoa(int64(i+1)) {
			t.Fatalf("line %d is %q", i+1, text)
		}
	}

	if _, err := a.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, a.token)); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for watch.Receive() {
		if ev := watch.Msg().GetEvent(); ev != nil {
			seen = append(seen, ev.GetStatus().String())
			if ev.GetStatus() == statusStopped {
				break
			}
		}
	}
	if len(seen) < 2 || seen[len(seen)-1] != statusStopped.String() {
		t.Errorf("server B's watcher saw %v", seen)
	}
	select {
	case <-f.done:
		if f.final != statusStopped {
			t.Errorf("B's log follow ended with %v, final %v", f.err, f.final)
		}
	case <-time.After(10 * time.Second):
		t.Error("B's log follow did not end when the deployment stopped on A")
	}
}
