package api_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestCrossServerAuditStream: a client of server B follows the audit log
// of changes made through server A. They arrive by PostgreSQL NOTIFY, well
// before the stream's 5 s re-read would find them.
func TestCrossServerAuditStream(t *testing.T) {
	db, ok := testenv.Postgres(t)
	if !ok {
		t.Skip("needs PostgreSQL (TEST_DATABASE_URL)")
	}
	a := newEngine(t, db, testenv.Options{})
	b := testenv.Start(t, db, testenv.Options{})
	bAudit := coderunnerv1connect.NewAuditServiceClient(testenv.H2CClient(), b.URL, connect.WithGRPC())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	latest, err := a.auditClient().ListAuditEvents(ctx, withToken(&coderunnerv1.ListAuditEventsRequest{PageSize: 1}, a.token))
	if err != nil || len(latest.Msg.GetEvents()) != 1 {
		t.Fatalf("ListAuditEvents = %v, %v", latest, err)
	}
	stream, err := bAudit.StreamAuditEvents(ctx, withToken(&coderunnerv1.StreamAuditEventsRequest{AfterId: latest.Msg.GetEvents()[0].GetId()}, a.token))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	// Let the stream's first read pass, so only a wake-up finds the events.
	time.Sleep(500 * time.Millisecond)
	for _, name := range []string{"first", "second"} {
		made := time.Now()
		if _, err := a.projectClient().CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{Name: name}, a.token)); err != nil {
			t.Fatal(err)
		}
		if !stream.Receive() {
			t.Fatalf("the stream on server B ended: %v", stream.Err())
		}
		e := stream.Msg().GetEvent()
		if method(e) != "CreateProject" || e.GetTargetType() != "project" || e.GetSummary() != "name="+name {
			t.Errorf("server B streamed %v, want CreateProject %s", e, name)
		}
		if waited := time.Since(made); waited > 3*time.Second {
			t.Errorf("server B streamed the event %s after it was made: no notification woke it", waited)
		}
	}
}
