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
)

// envApp answers with the variables it was started with, as JSON.
var envApp = []*coderunnerv1.SourceFile{
	{Path: "package.json", Content: []byte(`{"name":"envapp","main":"index.js"}`)},
	{Path: "index.js", Content: []byte(`require("http").createServer((q, s) => s.end(JSON.stringify({
  greeting: process.env.GREETING, db: process.env.DB_URL ? "set" : "unset", extra: process.env.EXTRA }))).listen(process.env.PORT);
`)},
}

func TestImportExportConfig(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "envapp", Files: envApp, Env: map[string]string{"GREETING": "hi"}})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	c := e.configClient()
	imp := func(dotenv string, asSecrets bool) (*connect.Response[coderunnerv1.ImportConfigResponse], error) {
		return c.ImportConfig(ctx, withToken(&coderunnerv1.ImportConfigRequest{DeploymentId: d.GetId(), Dotenv: dotenv, AsSecrets: asSecrets}, e.token))
	}

	// A malformed file writes nothing, secrets or env.
	_, err := imp("DB_URL=postgres://u:pw-secret@db/app\nthis line is wrong\n", true)
	wantCode(t, err, connect.CodeInvalidArgument, "line 2: expected NAME=value")
	_, err = imp("EXTRA=1\nPORT=80\n", false)
	wantCode(t, err, connect.CodeInvalidArgument, "line 2: PORT and HOST are set by CodeRunner")
	if got := e.get(d.GetId()).GetEnv(); len(got) != 1 {
		t.Fatalf("a failed import changed the env: %v", got)
	}

	res, err := imp("# from .env\nDB_URL=\"postgres://u:pw-secret@db/app\"\n", true)
	if err != nil || !slices.Equal(res.Msg.GetNames(), []string{"DB_URL"}) {
		t.Fatalf("ImportConfig(secrets) = %v, %v", res, err)
	}
	// While that restart is under way, another change is refused, not
	// silently left for a later restart.
	if _, err = imp("EXTRA=too soon\n", false); err != nil {
		wantCode(t, err, connect.CodeFailedPrecondition, "is being deployed")
	} else {
		t.Log("the restart was done before the second import: it applied")
	}
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	if _, err := imp("export EXTRA='from import'\nGREETING=hello\n", false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got := e.fetchJSON(d, "/")
		if got["greeting"] == "hello" && got["db"] == "set" && got["extra"] == "from import" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app has %v; events %v", got, e.events(d.GetId()))
		}
		time.Sleep(50 * time.Millisecond)
	}

	dotenv, err := c.ExportConfig(ctx, withToken(&coderunnerv1.ExportConfigRequest{DeploymentId: d.GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	want := "EXTRA=\"from import\"\nGREETING=hello\n# DB_URL is a secret; its value is not exported\n"
	if got := dotenv.Msg.GetContent(); got != want {
		t.Errorf("ExportConfig(DOTENV) =\n%s\nwant\n%s", got, want)
	}
	asJSON, err := c.ExportConfig(ctx, withToken(&coderunnerv1.ExportConfigRequest{DeploymentId: d.GetId(), Format: coderunnerv1.ConfigFormat_CONFIG_FORMAT_JSON}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Env     map[string]string `json:"env"`
		Secrets []string          `json:"secrets"`
	}
	if err := json.Unmarshal([]byte(asJSON.Msg.GetContent()), &decoded); err != nil || decoded.Env["EXTRA"] != "from import" || !slices.Equal(decoded.Secrets, []string{"DB_URL"}) {
		t.Errorf("ExportConfig(JSON) = %s (%v)", asJSON.Msg.GetContent(), err)
	}
	if strings.Contains(dotenv.Msg.GetContent()+asJSON.Msg.GetContent(), "pw-secret") {
		t.Error("an export shows a secret's value")
	}
}
