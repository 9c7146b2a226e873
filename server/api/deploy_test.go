package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestDeploymentLifecycle deploys the plain Node app and drives every
// action, on both databases, checking the app's URL after each.
func TestDeploymentLifecycle(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			e := newEngine(t, db, testenv.Options{Configure: func(c *config.Config) { c.StopGrace = 2 * time.Second }})
			ctx := context.Background()
			d := e.create(&coderunnerv1.CreateDeploymentRequest{
				Name:  "hello",
				Files: example(t, "node-hello"),
				Env:   map[string]string{"GREETING": "hi there"},
			})
			if d.GetStatus() != coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_PENDING || d.GetRuntime() != coderunnerv1.Runtime_RUNTIME_NODEJS {
				t.Errorf("created deployment = %v %v", d.GetStatus(), d.GetRuntime())
			}
			if !strings.HasPrefix(d.GetUrl(), "http://hello-") || !strings.Contains(d.GetUrl(), ".localhost:") {
				t.Errorf("url = %q", d.GetUrl())
			}
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
			if got := e.fetchJSON(d, "/")["message"]; got != "hi there" {
				t.Errorf("app says %v, want the GREETING env var", got)
			}
			firstPID := e.fetchJSON(d, "/")["pid"]
			events := e.events(d.GetId())
			want := []string{"PENDING", "PROVISIONING", "BUILDING", "RUNNING"}
			for i, w := range want {
				if i >= len(events) || !strings.HasPrefix(events[i], w+":") {
					t.Fatalf("events = %q, want the sequence %v", events, want)
				}
			}

			// Stop: the URL answers 503 naming the status; stopping again is
			// refused.
			if _, err := e.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			d = e.get(d.GetId())
			if d.GetStatus() != statusStopped {
				t.Fatalf("after Stop: %v", d.GetStatus())
			}
			status, body := e.fetch(d, "/")
			if status != 503 || !strings.Contains(body, "stopped") {
				t.Errorf("stopped app URL = %d %s", status, body)
			}
			_, err := e.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token))
			wantCode(t, err, connect.CodeFailedPrecondition, "not running")
			_, err = e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token))
			wantCode(t, err, connect.CodeFailedPrecondition)

			// Start again.
			if _, err := e.client.StartDeployment(ctx, withToken(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
				t.Fatalf("Start: %v", err)
			}
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
			if e.fetchJSON(d, "/")["message"] != "hi there" {
				t.Error("app not serving after Start")
			}
			_, err = e.client.StartDeployment(ctx, withToken(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}, e.token))
			wantCode(t, err, connect.CodeFailedPrecondition, "already running")

			// Restart: a new process, and a new run (started_at moves on).
			before := d.GetStartedAt().AsTime()
			if _, err := e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
				t.Fatalf("Restart: %v", err)
			}
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
			if after := d.GetStartedAt().AsTime(); d.GetStartedAt() == nil || !after.After(before) {
				t.Errorf("started_at %v after Restart, want later than %v", after, before)
			}
			if pid := e.fetchJSON(d, "/")["pid"]; pid == nil {
				t.Error("no pid after restart")
			} else {
				_ = firstPID // pids restart at 1-ish in every PID namespace; the event log proves the restart
			}

			// Update env: restarts with the new value.
			if _, err := e.client.UpdateDeployment(ctx, withToken(&coderunnerv1.UpdateDeploymentRequest{
				Id: d.GetId(), Env: map[string]string{"GREETING": "updated"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"env"}},
			}, e.token)); err != nil {
				t.Fatalf("Update: %v", err)
			}
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
			if got := e.fetchJSON(d, "/")["message"]; got != "updated" {
				t.Errorf("after Update the app says %v", got)
			}

			// Redeploy with new source.
			files := example(t, "node-hello")
			for _, f := range files {
				if f.GetPath() == "server.js" {
					f.Content = []byte(strings.Replace(string(f.GetContent()), "Hello from CodeRunner", "Hello again", 1))
				}
			}
			res, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: files}, e.token))
			if err != nil {
				t.Fatalf("Redeploy: %v", err)
			}
			if res.Msg.GetDeployment().GetRevision() != 2 {
				t.Errorf("revision after redeploy = %d", res.Msg.GetDeployment().GetRevision())
			}
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
			// GREETING still overrides the text; clearing the env shows the
			// new source's default.
			if _, err := e.client.UpdateDeployment(ctx, withToken(&coderunnerv1.UpdateDeploymentRequest{
				Id: d.GetId(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"env"}},
			}, e.token)); err != nil {
				t.Fatalf("Update: %v", err)
			}
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
			if got := e.fetchJSON(d, "/")["message"]; got != "Hello again" {
				t.Errorf("after redeploy the app says %v", got)
			}

			// Delete: gone from the list, URL 404, history kept, actions refused.
			if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if got := e.get(d.GetId()); got.GetStatus() != statusDestroyed || got.GetUrl() != "" {
				t.Errorf("deleted deployment = %v url %q", got.GetStatus(), got.GetUrl())
			}
			status, _ = e.fetch(d, "/")
			if status != 404 {
				t.Errorf("deleted app URL = %d, want 404", status)
			}
			list, err := e.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{}, e.token))
			if err != nil || len(list.Msg.GetDeployments()) != 0 {
				t.Errorf("list after delete = %v, %v", list.Msg.GetDeployments(), err)
			}
			_, err = e.client.StartDeployment(ctx, withToken(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}, e.token))
			wantCode(t, err, connect.CodeFailedPrecondition, "deleted")
			if last := e.events(d.GetId()); !strings.HasPrefix(last[len(last)-1], "DESTROYED:") {
				t.Errorf("last event = %q", last[len(last)-1])
			}
		})
	}
}
