package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/sandbox/sandboxtest"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestServesWithAnotherDriver: the whole server (accounts, the
// DeploymentService, the router) runs on a driver other than bubblewrap,
// so this runs without root, and an app is reached at its own host.
func TestServesWithAnotherDriver(t *testing.T) {
	ctx := context.Background()
	drv := &sandboxtest.Driver{}
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{Driver: drv})
	client := http.DefaultClient

	authClient := coderunnerv1connect.NewAuthServiceClient(client, srv.URL)
	if _, err := authClient.Register(ctx, connect.NewRequest(&coderunnerv1.RegisterRequest{Email: "a@example.com", Password: "correct horse battery"})); err != nil {
		t.Fatal(err)
	}
	login, err := authClient.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: "a@example.com", Password: "correct horse battery"}))
	if err != nil {
		t.Fatal(err)
	}
	deployments := coderunnerv1connect.NewDeploymentServiceClient(client, srv.URL)
	bearer := func(req connect.AnyRequest) {
		req.Header().Set("Authorization", "Bearer "+login.Msg.GetToken())
	}
	create := connect.NewRequest(&coderunnerv1.CreateDeploymentRequest{
		Name: "hello",
		Files: []*coderunnerv1.SourceFile{
			{Path: "package.json", Content: []byte(`{"name":"hello"}`)},
			{Path: "index.js", Content: []byte(`require("http").createServer((q, s) => s.end("hi")).listen(process.env.PORT)`)},
		},
	})
	bearer(create)
	created, err := deployments.CreateDeployment(ctx, create)
	if err != nil {
		t.Fatal(err)
	}
	d := created.Msg.GetDeployment()

	deadline := time.Now().Add(10 * time.Second)
	for {
		get := connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: d.GetId()})
		bearer(get)
		got, err := deployments.GetDeployment(ctx, get)
		if err != nil {
			t.Fatal(err)
		}
		if got.Msg.GetDeployment().GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment is %v (%s)", got.Msg.GetDeployment().GetStatus(), got.Msg.GetDeployment().GetStatusReason())
		}
		time.Sleep(10 * time.Millisecond)
	}

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = d.GetSlug() + "." + srv.Config.AppsDomain
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	// sandboxtest's sandboxes answer with their name: <id>-v1-...
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), d.GetId()+"-v1-") {
		t.Fatalf("GET the app: %d %q", res.StatusCode, body)
	}
}
