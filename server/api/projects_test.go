package api_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func (e *engine) projectClient() coderunnerv1connect.ProjectServiceClient {
	return coderunnerv1connect.NewProjectServiceClient(testenv.HTTP1Client(), e.srv.URL, connect.WithProtoJSON())
}

func TestProjects(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testProjects(t, db) })
	}
}

func testProjects(t *testing.T, db testenv.Database) {
	ctx := context.Background()
	e := newEngine(t, db, testenv.Options{})
	pc := e.projectClient()

	list, err := pc.ListProjects(ctx, withToken(&coderunnerv1.ListProjectsRequest{}, e.token))
	if err != nil || len(list.Msg.GetProjects()) != 1 || !list.Msg.GetProjects()[0].GetIsDefault() || list.Msg.GetProjects()[0].GetName() != "default" {
		t.Fatalf("a new user's projects = %v, %v; want only the default", list, err)
	}
	def := list.Msg.GetProjects()[0]

	inDefault := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "plain", Files: crashingApp})
	if inDefault.GetProjectId() != def.GetId() {
		t.Errorf("a deployment without a project is in %q, want the default %q", inDefault.GetProjectId(), def.GetId())
	}
	created, err := pc.CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{Name: "web", Description: "the shop"}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	web := created.Msg.GetProject()
	inWeb := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "shop", Files: crashingApp, ProjectId: web.GetId()})
	if inWeb.GetProjectId() != web.GetId() {
		t.Errorf("created in project %q, want %q", inWeb.GetProjectId(), web.GetId())
	}
	listed, err := e.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{ProjectId: web.GetId()}, e.token))
	if err != nil || len(listed.Msg.GetDeployments()) != 1 || listed.Msg.GetDeployments()[0].GetName() != "shop" {
		t.Fatalf("ListDeployments(project web) = %v, %v", listed, err)
	}
	got, err := pc.GetProject(ctx, withToken(&coderunnerv1.GetProjectRequest{Id: web.GetId()}, e.token))
	if err != nil || got.Msg.GetProject().GetDeploymentCount() != 1 || got.Msg.GetProject().GetDescription() != "the shop" {
		t.Fatalf("GetProject = %v, %v", got, err)
	}

	_, err = pc.CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{Name: "web"}, e.token))
	wantCode(t, err, connect.CodeAlreadyExists, `you already have a project named "web"`)
	_, err = pc.CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{Name: "Not Valid"}, e.token))
	if v := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !contains(v, "name:string.pattern") {
		t.Errorf("violations %v", v)
	}
	_, err = pc.UpdateProject(ctx, withToken(&coderunnerv1.UpdateProjectRequest{Id: web.GetId(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner"}}}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument)
	renamed, err := pc.UpdateProject(ctx, withToken(&coderunnerv1.UpdateProjectRequest{Id: web.GetId(), Name: "storefront",
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}}, e.token))
	if err != nil || renamed.Msg.GetProject().GetName() != "storefront" || renamed.Msg.GetProject().GetDescription() != "the shop" {
		t.Fatalf("UpdateProject(name) = %v, %v", renamed, err)
	}

	// Another user sees none of it.
	other := e.on(e.srv)
	other.token, _ = signUp(t, authClient(e.srv, protocols()[0]))
	_, err = pc.GetProject(ctx, withToken(&coderunnerv1.GetProjectRequest{Id: web.GetId()}, other.token))
	wantCode(t, err, connect.CodeNotFound)
	_, err = other.client.CreateDeployment(ctx, withToken(&coderunnerv1.CreateDeploymentRequest{Name: "intruder", Files: crashingApp, ProjectId: web.GetId()}, other.token))
	wantCode(t, err, connect.CodeNotFound, "project not found")
	_, err = other.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{ProjectId: web.GetId()}, other.token))
	wantCode(t, err, connect.CodeNotFound)
	_, err = pc.DeleteProject(ctx, withToken(&coderunnerv1.DeleteProjectRequest{Id: web.GetId()}, other.token))
	wantCode(t, err, connect.CodeNotFound)

	_, err = pc.DeleteProject(ctx, withToken(&coderunnerv1.DeleteProjectRequest{Id: web.GetId()}, e.token))
	wantCode(t, err, connect.CodeFailedPrecondition, `project "storefront" holds shop; delete them first`)
	_, err = pc.DeleteProject(ctx, withToken(&coderunnerv1.DeleteProjectRequest{Id: def.GetId()}, e.token))
	wantCode(t, err, connect.CodeFailedPrecondition, "the default project cannot be deleted")
	e.waitFor(inWeb.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, time.Minute)
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: inWeb.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.DeleteProject(ctx, withToken(&coderunnerv1.DeleteProjectRequest{Id: web.GetId()}, e.token)); err != nil {
		t.Fatalf("DeleteProject of an empty project: %v", err)
	}
	_, err = pc.GetProject(ctx, withToken(&coderunnerv1.GetProjectRequest{Id: web.GetId()}, e.token))
	wantCode(t, err, connect.CodeNotFound)
}
