package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// sharedEnvApp answers with the variables it was started with, and prints its
// token at start and on every request.
func sharedEnvApp(name, delay string) []*coderunnerv1.SourceFile {
	return []*coderunnerv1.SourceFile{
		{Path: "package.json", Content: []byte(`{"name":"` + name + `","main":"index.js"}`)},
		{Path: "index.js", Content: []byte(`const e = process.env;
console.log("token at start " + (e.API_TOKEN || ""));
setTimeout(() => require("http").createServer((q, s) => {
  console.log("request with token " + (e.API_TOKEN || ""));
  s.end(JSON.stringify({region: e.REGION || "", level: e.LOG_LEVEL || "", token: e.API_TOKEN || ""}));
}).listen(e.PORT), ` + delay + `);
`)},
	}
}

type envSeen struct{ Region, Level, Token string }

func (e *engine) envOf(d *coderunnerv1.Deployment) envSeen {
	e.t.Helper()
	status, body := e.fetch(d, "/")
	var seen envSeen
	if status != 200 || json.Unmarshal([]byte(body), &seen) != nil {
		return envSeen{Region: "answered " + body}
	}
	return seen
}

// waitForEnv polls d until it runs with want.
func (e *engine) waitForEnv(d *coderunnerv1.Deployment, want envSeen) {
	e.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := e.envOf(d)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s runs with %+v, want %+v; events:\n%s", d.GetName(), got, want, strings.Join(e.events(d.GetId()), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *engine) setProjectSecret(projectID, name, value string) (*coderunnerv1.Secret, error) {
	res, err := e.configClient().SetSecret(context.Background(), withToken(&coderunnerv1.SetSecretRequest{
		Scope: &coderunnerv1.SetSecretRequest_ProjectId{ProjectId: projectID}, Name: name, Value: value}, e.token))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetSecret(), nil
}

func (e *engine) setProjectEnv(projectID string, env map[string]string) (*coderunnerv1.Project, error) {
	res, err := e.projectClient().UpdateProject(context.Background(), withToken(&coderunnerv1.UpdateProjectRequest{
		Id: projectID, Env: env, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"env"}}}, e.token))
	if err != nil {
		return nil, err
	}
	return res.Msg.GetProject(), nil
}

// TestProjectSharedConfig: a project's variables and secrets reach each of
// its deployments, restart the running ones, lose to a deployment's own
// value of the same name, are masked in logs and sealed at rest, stay as
// they are across a rollback, and are the owner's only.
func TestProjectSharedConfig(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testProjectSharedConfig(t, db) })
	}
}

func testProjectSharedConfig(t *testing.T, db testenv.Database) {
	ctx := context.Background()
	e := newEngine(t, db, testenv.Options{})
	created, err := e.projectClient().CreateProject(ctx, withToken(&coderunnerv1.CreateProjectRequest{
		Name: "shop", Env: map[string]string{"REGION": "eu", "LOG_LEVEL": "info"}}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	shop := created.Msg.GetProject()
	if shop.GetEnv()["REGION"] != "eu" {
		t.Errorf("CreateProject env = %v", shop.GetEnv())
	}
	api := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "api", Files: sharedEnvApp("api", "0"), ProjectId: shop.GetId(),
		Env: map[string]string{"LOG_LEVEL": "debug"}})
	web := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "web", Files: sharedEnvApp("web", "0"), ProjectId: shop.GetId()})
	e.waitFor(api.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.waitFor(web.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	// The deployment's own LOG_LEVEL wins over the project's.
	e.waitForEnv(api, envSeen{Region: "eu", Level: "debug"})
	e.waitForEnv(web, envSeen{Region: "eu", Level: "info"})

	// A project secret restarts both, masked in their logs.
	value := randomValue()
	s, err := e.setProjectSecret(shop.GetId(), "API_TOKEN", value)
	if err != nil || s.GetVersion() != 1 {
		t.Fatalf("SetSecret(project) = %v, %v", s, err)
	}
	e.waitForEnv(api, envSeen{Region: "eu", Level: "debug", Token: value})
	e.waitForEnv(web, envSeen{Region: "eu", Level: "info", Token: value})
	for _, d := range []*coderunnerv1.Deployment{api, web} {
		if !contains(e.events(d.GetId()), "PENDING: project secret API_TOKEN set; restarting") {
			t.Errorf("%s events %v", d.GetName(), e.events(d.GetId()))
		}
		text := e.waitForLine(d.GetId(), "request with token [secret:API_TOKEN]")
		if strings.Contains(text, value) {
			t.Errorf("%s's logs show the project secret:\n%s", d.GetName(), text)
		}
		e.assertNotInStream(d.GetId(), value)
		e.assertNotInDownload(d.GetId(), value)
	}
	e.assertNotStored(db, value)
	list, err := e.configClient().ListSecrets(ctx, withToken(&coderunnerv1.ListSecretsRequest{
		Scope: &coderunnerv1.ListSecretsRequest_ProjectId{ProjectId: shop.GetId()}}, e.token))
	if err != nil || len(list.Msg.GetSecrets()) != 1 || list.Msg.GetSecrets()[0].GetName() != "API_TOKEN" || list.Msg.GetSecrets()[0].GetUpdatedBy() == "" {
		t.Fatalf("ListSecrets(project) = %v, %v", list, err)
	}
	own, err := e.configClient().ListSecrets(ctx, withToken(&coderunnerv1.ListSecretsRequest{
		Scope: &coderunnerv1.ListSecretsRequest_DeploymentId{DeploymentId: web.GetId()}}, e.token))
	if err != nil || len(own.Msg.GetSecrets()) != 0 {
		t.Errorf("ListSecrets(deployment) lists what it inherits: %v, %v", own, err)
	}

	// The deployment's own secret wins over the project's.
	mine := randomValue()
	e.setSecret(api.GetId(), "API_TOKEN", mine)
	e.waitForEnv(api, envSeen{Region: "eu", Level: "debug", Token: mine})

	// A variable change restarts both; a rollback keeps the project's
	// current values, its own release's env.
	releaseBefore := e.get(web.GetId()).GetRelease()
	if _, err := e.setProjectEnv(shop.GetId(), map[string]string{"REGION": "us", "LOG_LEVEL": "info"}); err != nil {
		t.Fatal(err)
	}
	e.waitForEnv(web, envSeen{Region: "us", Level: "info", Token: value})
	e.waitForEnv(api, envSeen{Region: "us", Level: "debug", Token: mine})
	if r := e.releases(web.GetId())[0]; !strings.Contains(r.GetDescription(), "project variables changed: REGION") {
		t.Errorf("web's newest release %q", r.GetDescription())
	}
	if _, err := e.rollback(web.GetId(), releaseBefore); err != nil {
		t.Fatal(err)
	}
	e.waitFor(web.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.waitForEnv(web, envSeen{Region: "us", Level: "info", Token: value})

	// Deleting the project secret: web runs without it, api keeps its own.
	if _, err := e.configClient().DeleteSecret(ctx, withToken(&coderunnerv1.DeleteSecretRequest{
		Scope: &coderunnerv1.DeleteSecretRequest_ProjectId{ProjectId: shop.GetId()}, Name: "API_TOKEN"}, e.token)); err != nil {
		t.Fatal(err)
	}
	e.waitForEnv(web, envSeen{Region: "us", Level: "info"})
	e.waitForEnv(api, envSeen{Region: "us", Level: "debug", Token: mine})
	// api restarted too, with the same values: wait until it has.
	e.waitFor(api.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.waitFor(web.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)

	// A deployment being deployed holds the project's changes back.
	slow := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "slow", Files: sharedEnvApp("slow", "4000"), ProjectId: shop.GetId()})
	_, err = e.setProjectSecret(shop.GetId(), "API_TOKEN", value)
	wantCode(t, err, connect.CodeFailedPrecondition, "the project's deployment slow is being deployed")
	_, err = e.setProjectEnv(shop.GetId(), map[string]string{"REGION": "ap"})
	wantCode(t, err, connect.CodeFailedPrecondition, "deployment slow is")
	e.waitFor(slow.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	e.waitForEnv(slow, envSeen{Region: "us", Level: "info"})
	if got := e.envOf(web); got.Token != "" {
		t.Errorf("a refused project secret reached web: %+v", got)
	}

	testProjectConfigBadInput(t, e, shop.GetId())
}

func testProjectConfigBadInput(t *testing.T, e *engine, projectID string) {
	ctx := context.Background()
	_, err := e.setProjectSecret(projectID, "PORT", "1")
	if got := violations(t, wantCode(t, err, connect.CodeInvalidArgument)); !slices.Contains(got, "name:secret_reserved") {
		t.Errorf("SetSecret(PORT) violations %v", got)
	}
	_, err = e.setProjectEnv(projectID, map[string]string{"1BAD": "x"})
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = e.configClient().DeleteSecret(ctx, withToken(&coderunnerv1.DeleteSecretRequest{
		Scope: &coderunnerv1.DeleteSecretRequest_ProjectId{ProjectId: projectID}, Name: "NOPE"}, e.token))
	wantCode(t, err, connect.CodeNotFound, `no secret named "NOPE"`)
	_, err = e.setProjectSecret("0190d6f4-0000-7000-8000-000000000000", "API_TOKEN", "x")
	wantCode(t, err, connect.CodeNotFound, "project not found")

	other := e.otherUser()
	_, err = other.setProjectSecret(projectID, "API_TOKEN", "x")
	wantCode(t, err, connect.CodeNotFound, "project not found")
	_, err = other.setProjectEnv(projectID, map[string]string{"REGION": "x"})
	wantCode(t, err, connect.CodeNotFound)
	_, err = other.configClient().ListSecrets(ctx, withToken(&coderunnerv1.ListSecretsRequest{
		Scope: &coderunnerv1.ListSecretsRequest_ProjectId{ProjectId: projectID}}, other.token))
	wantCode(t, err, connect.CodeNotFound)
	_, err = other.configClient().DeleteSecret(ctx, withToken(&coderunnerv1.DeleteSecretRequest{
		Scope: &coderunnerv1.DeleteSecretRequest_ProjectId{ProjectId: projectID}, Name: "API_TOKEN"}, other.token))
	wantCode(t, err, connect.CodeNotFound)
}
