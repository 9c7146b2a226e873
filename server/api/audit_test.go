package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/uptrace/bun"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (e *engine) auditClient() coderunnerv1connect.AuditServiceClient {
	return coderunnerv1connect.NewAuditServiceClient(testenv.HTTP1Client(), e.srv.URL, connect.WithProtoJSON())
}

// auditEvents lists every event of token's user matching filter, newest
// first, walking the pages pageSize at a time.
func (e *engine) auditEvents(token string, filter *coderunnerv1.AuditFilter, pageSize int32) []*coderunnerv1.AuditEvent {
	e.t.Helper()
	var all []*coderunnerv1.AuditEvent
	pageToken := ""
	for {
		res, err := e.auditClient().ListAuditEvents(context.Background(), withToken(&coderunnerv1.ListAuditEventsRequest{
			Filter: filter, PageSize: pageSize, PageToken: pageToken}, token))
		if err != nil {
			e.t.Fatalf("ListAuditEvents: %v", err)
		}
		all = append(all, res.Msg.GetEvents()...)
		if pageToken = res.Msg.GetNextPageToken(); pageToken == "" {
			return all
		}
	}
}

// method is the procedure's method name: "SetSecret".
func method(ev *coderunnerv1.AuditEvent) string {
	return ev.GetAction()[strings.LastIndex(ev.GetAction(), "/")+1:]
}

func findEvent(events []*coderunnerv1.AuditEvent, name, code string) *coderunnerv1.AuditEvent {
	for _, ev := range events {
		if method(ev) == name && ev.GetCode() == code {
			return ev
		}
	}
	return nil
}

func TestAuditLog(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testAuditLog(t, db) })
	}
}

func testAuditLog(t *testing.T, db testenv.Database) {
	ctx := context.Background()
	e := newEngine(t, db, testenv.Options{})
	ac, pc, cc := authClient(e.srv, protocols()[0]), e.projectClient(), e.configClient()
	me, err := ac.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	email := me.Msg.GetUser().GetEmail()

	_, err = ac.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: "not the password"}))
	wantCode(t, err, connect.CodeUnauthenticated)
	project, err := pc.CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{Name: "shop"}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "audited", Files: crashingApp, ProjectId: project.Msg.GetProject().GetId()})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, time.Minute)
	const value = "s3cret-value-in-no-log"
	e.setSecret(d.GetId(), "API_TOKEN", value)
	token, err := ac.CreateApiToken(ctx, withToken(&coderunnerv1.CreateApiTokenRequest{Name: "ci"}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	tokenID := token.Msg.GetApiToken().GetId()
	if _, err := ac.RevokeApiToken(ctx, withToken(&coderunnerv1.RevokeApiTokenRequest{Id: tokenID}, e.token)); err != nil {
		t.Fatal(err)
	}
	_, err = ac.ChangePassword(ctx, withToken(&coderunnerv1.ChangePasswordRequest{CurrentPassword: "wrong-password", NewPassword: "another-password"}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument)

	events := e.auditEvents(e.token, nil, 0)
	want := []struct{ method, code, targetType, targetID string }{
		{"Register", "ok", "", ""},
		{"Login", "ok", "", ""},
		{"Login", "unauthenticated", "", ""},
		{"CreateProject", "ok", "project", project.Msg.GetProject().GetId()},
		{"CreateDeployment", "ok", "deployment", d.GetId()},
		{"SetSecret", "ok", "deployment", d.GetId()},
		{"CreateApiToken", "ok", "api_token", tokenID},
		{"RevokeApiToken", "ok", "api_token", tokenID},
		{"ChangePassword", "invalid_argument", "", ""},
	}
	for _, w := range want {
		ev := findEvent(events, w.method, w.code)
		if ev == nil {
			t.Errorf("no %s event with code %s in %v", w.method, w.code, events)
			continue
		}
		if ev.GetTargetType() != w.targetType || ev.GetTargetId() != w.targetID {
			t.Errorf("%s targets %s %q, want %s %q", w.method, ev.GetTargetType(), ev.GetTargetId(), w.targetType, w.targetID)
		}
		if ev.GetActor() != email || ev.GetClientAddress() != "127.0.0.1" || ev.GetTime().AsTime().IsZero() {
			t.Errorf("%s: actor %q address %q time %v", w.method, ev.GetActor(), ev.GetClientAddress(), ev.GetTime())
		}
	}
	for _, ev := range events {
		for _, leak := range []string{value, testPassword, "not the password", "another-password"} {
			if strings.Contains(ev.GetSummary(), leak) || strings.Contains(ev.GetMessage(), leak) {
				t.Errorf("%s event shows %q: %q", method(ev), leak, ev.GetSummary())
			}
		}
	}
	if ev := findEvent(events, "SetSecret", "ok"); ev != nil && (!strings.Contains(ev.GetSummary(), "name=API_TOKEN") || !strings.Contains(ev.GetSummary(), "value=[redacted]")) {
		t.Errorf("SetSecret summary %q, want the name and value=[redacted]", ev.GetSummary())
	}
	if findEvent(events, "ListAuditEvents", "ok") != nil || findEvent(events, "Verify", "ok") != nil {
		t.Error("calls marked NO_SIDE_EFFECTS are audited")
	}

	paged := e.auditEvents(e.token, nil, 2)
	if len(paged) != len(events) {
		t.Fatalf("pages of 2 give %d events, one page %d", len(paged), len(events))
	}
	for i := range paged {
		if paged[i].GetId() != events[i].GetId() || (i > 0 && paged[i].GetId() >= paged[i-1].GetId()) {
			t.Fatalf("pages out of order or different at %d: %v vs %v", i, paged[i], events[i])
		}
	}
	onDeployment := e.auditEvents(e.token, &coderunnerv1.AuditFilter{TargetType: "deployment", TargetId: d.GetId()}, 0)
	if len(onDeployment) != 2 || method(onDeployment[0]) != "SetSecret" || method(onDeployment[1]) != "CreateDeployment" {
		t.Errorf("events on the deployment: %v, want SetSecret and CreateDeployment", onDeployment)
	}
	logins := e.auditEvents(e.token, &coderunnerv1.AuditFilter{Action: "Login"}, 0)
	if len(logins) != 2 {
		t.Errorf("Login events: %d, want 2 (one ok, one failed)", len(logins))
	}
	future := e.auditEvents(e.token, &coderunnerv1.AuditFilter{StartTime: timestampOf(time.Now().Add(time.Hour))}, 0)
	if len(future) != 0 {
		t.Errorf("events from an hour ahead: %v, want none", future)
	}

	// Another user sees none of it, and their refused attempt on the
	// deployment is in their log, not the owner's.
	otherToken, _ := signUp(t, ac)
	_, err = cc.SetSecret(ctx, withToken(&coderunnerv1.SetSecretRequest{
		Scope: &coderunnerv1.SetSecretRequest_DeploymentId{DeploymentId: d.GetId()}, Name: "X_TOKEN", Value: "whatever-value"}, otherToken))
	wantCode(t, err, connect.CodeNotFound)
	theirs := e.auditEvents(otherToken, nil, 0)
	if findEvent(theirs, "SetSecret", "not_found") == nil || findEvent(theirs, "CreateProject", "ok") != nil {
		t.Errorf("the other user's log: %v", theirs)
	}
	if findEvent(e.auditEvents(e.token, nil, 0), "SetSecret", "not_found") != nil {
		t.Error("another user's refused call shows in the owner's log")
	}
	e.assertAuditStream(project.Msg.GetProject().GetId(), events[0].GetId(), events[1].GetId())
}

// assertAuditStream follows the log from after newest: a change made now
// arrives live; a stream resumed from before newest replays newest first.
func (e *engine) assertAuditStream(projectID string, newest, previous int64) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := e.auditClient().StreamAuditEvents(ctx, withToken(&coderunnerv1.StreamAuditEventsRequest{AfterId: newest}, e.token))
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	name := "renamed"
	if _, err := e.projectClient().UpdateProject(ctx, withToken(&coderunnerv1.UpdateProjectRequest{
		Id: projectID, Name: name, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}}, e.token)); err != nil {
		e.t.Fatal(err)
	}
	if !stream.Receive() {
		e.t.Fatalf("the stream ended: %v", stream.Err())
	}
	live := stream.Msg().GetEvent()
	if method(live) != "UpdateProject" || live.GetId() <= newest || live.GetTargetId() != projectID {
		e.t.Fatalf("live event %v, want UpdateProject of %s after %d", live, projectID, newest)
	}

	resumed, err := e.auditClient().StreamAuditEvents(ctx, withToken(&coderunnerv1.StreamAuditEventsRequest{AfterId: previous}, e.token))
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = resumed.Close() }()
	for _, want := range []int64{newest, live.GetId()} {
		if !resumed.Receive() || resumed.Msg().GetEvent().GetId() != want {
			e.t.Fatalf("resumed stream gave %v (%v), want event %d", resumed.Msg(), resumed.Err(), want)
		}
	}
}

func timestampOf(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

// TestAuditEventCommitsWithTheChange: with the audit log unwritable, a
// change fails whole. Nothing it would have stored is there.
func TestAuditEventCommitsWithTheChange(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			e := newEngine(t, db, testenv.Options{})
			d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "atomic", Files: crashingApp})
			e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, time.Minute)
			conn, err := store.Open(ctx, e.srv.Config.DatabaseURL, e.srv.Config.DataDir)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			breakAuditLog(t, conn)

			_, err = e.projectClient().CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{Name: "ghost"}, e.token))
			wantCode(t, err, connect.CodeInternal)
			_, err = e.configClient().SetSecret(ctx, withToken(&coderunnerv1.SetSecretRequest{
				Scope: &coderunnerv1.SetSecretRequest_DeploymentId{DeploymentId: d.GetId()}, Name: "GHOST", Value: "ghost-value"}, e.token))
			wantCode(t, err, connect.CodeInternal)
			_, err = e.client.UpdateDeployment(ctx, withToken(&coderunnerv1.UpdateDeploymentRequest{
				Id: d.GetId(), Env: map[string]string{"GHOST": "1"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"env"}}}, e.token))
			wantCode(t, err, connect.CodeInternal)
			repairAuditLog(t, conn)

			projects, err := e.projectClient().ListProjects(ctx, withToken(&coderunnerv1.ListProjectsRequest{}, e.token))
			if err != nil || len(projects.Msg.GetProjects()) != 1 {
				t.Errorf("projects after the failed create: %v, %v; want the default only", projects, err)
			}
			secrets, err := e.configClient().ListSecrets(ctx, withToken(&coderunnerv1.ListSecretsRequest{
				Scope: &coderunnerv1.ListSecretsRequest_DeploymentId{DeploymentId: d.GetId()}}, e.token))
			if err != nil || len(secrets.Msg.GetSecrets()) != 0 {
				t.Errorf("secrets after the failed set: %v, %v; want none", secrets, err)
			}
			after := e.get(d.GetId())
			if _, ok := after.GetEnv()["GHOST"]; ok || after.GetRelease() != d.GetRelease() {
				t.Errorf("after the failed update: env %v release %d, want no GHOST and release %d", after.GetEnv(), after.GetRelease(), d.GetRelease())
			}
		})
	}
}

func breakAuditLog(t *testing.T, db *bun.DB) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE audit_events RENAME TO audit_events_away"); err != nil {
		t.Fatal(err)
	}
}

func repairAuditLog(t *testing.T, db *bun.DB) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE audit_events_away RENAME TO audit_events"); err != nil {
		t.Fatal(err)
	}
}
