package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// send makes a JSON request to deployment d's URL.
func (e *engine) send(d *coderunnerv1.Deployment, method, path, body string) (int, map[string]any) {
	e.t.Helper()
	u, _ := url.Parse(d.GetUrl())
	req, _ := http.NewRequest(method, "http://"+u.Host+path, bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := e.appClient().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return res.StatusCode, out
}

// TestManifestDeployment deploys the seed's blog manifest unchanged, uses
// its API through the router, and shows the data survives a restart, a
// stop and start and a redeploy: a safe manifest change applies while an
// unsafe one is refused.
func TestManifestDeployment(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	ctx := context.Background()
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "blog", Files: example(t, "manifest-blog")})
	if d.GetRuntime() != coderunnerv1.Runtime_RUNTIME_MANIFEST {
		t.Fatalf("runtime = %v", d.GetRuntime())
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)

	status, user := e.send(d, "POST", "/api/users", `{"username":"ada","email":"ada@example.com"}`)
	if status != 201 || user["id"] == nil {
		t.Fatalf("POST /api/users = %d %v", status, user)
	}
	if status, _ := e.send(d, "POST", "/api/users", `{"username":"ada","email":"other@example.com"}`); status != 409 {
		t.Errorf("duplicate username = %d, want 409", status)
	}
	if status, body := e.send(d, "POST", "/api/posts", `{"content":"no title"}`); status != 400 {
		t.Errorf("post without title = %d %v", status, body)
	}
	status, post := e.send(d, "POST", "/api/posts", `{"title":"Hello","userId":"`+user["id"].(string)+`"}`)
	if status != 201 {
		t.Fatalf("POST /api/posts = %d %v", status, post)
	}

	// Restart: the data is still there.
	if _, err := e.client.RestartDeployment(ctx, withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if status, list := e.send(d, "GET", "/api/posts?title=Hello", ""); status != 200 || list["total"] != float64(1) {
		t.Errorf("after restart GET /api/posts = %d %v", status, list)
	}

	// Stop and start: the data is still there.
	if _, err := e.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	e.waitFor(d.GetId(), statusStopped, 30*time.Second)
	if _, err := e.client.StartDeployment(ctx, withToken(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if status, got := e.send(d, "GET", "/api/posts/"+post["id"].(string), ""); status != 200 || got["title"] != "Hello" {
		t.Errorf("after stop and start GET post = %d %v", status, got)
	}

	// A safe change (a new optional field, a new entity) applies and keeps
	// the data.
	files := example(t, "manifest-blog")
	safe := strings.Replace(string(files[0].GetContent()), "      - name: content\n        type: text\n", "      - name: content\n        type: text\n      - name: views\n        type: integer\n", 1) +
		"  - name: Comment\n    fields:\n      - name: body\n        type: text\n        required: true\n      - name: post\n        type: ref\n        ref: Post\n"
	if _, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(safe)}}}, e.token)); err != nil {
		t.Fatalf("safe redeploy: %v", err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if status, _ := e.send(d, "PATCH", "/api/posts/"+post["id"].(string), `{"views":3}`); status != 200 {
		t.Errorf("PATCH the new field = %d", status)
	}
	if status, c := e.send(d, "POST", "/api/comments", `{"body":"Nice","post":"`+post["id"].(string)+`"}`); status != 201 {
		t.Errorf("POST to the new entity = %d %v", status, c)
	}

	// Unsafe changes (a type change with data present, a new required
	// field without a default) are refused; the running version keeps
	// serving the same data.
	for _, unsafe := range []struct{ name, manifest, field string }{
		{"type change", strings.Replace(safe, "      - name: title\n        type: string\n", "      - name: title\n        type: integer\n", 1), "title"},
		{"new required field", strings.Replace(safe, "      - name: content\n        type: text\n", "      - name: content\n        type: text\n      - name: slug\n        type: string\n        required: true\n", 1), "slug"},
	} {
		_, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(unsafe.manifest)}}}, e.token))
		wantCode(t, err, connect.CodeFailedPrecondition, unsafe.field, "unchanged")
		if got := e.get(d.GetId()); got.GetStatus() != statusRunning || got.GetRevision() != 2 {
			t.Errorf("after the refused %s: %v revision %d", unsafe.name, got.GetStatus(), got.GetRevision())
		}
		if status, p := e.send(d, "GET", "/api/posts/"+post["id"].(string), ""); status != 200 || p["title"] != "Hello" || p["views"] != float64(3) {
			t.Errorf("after the refused %s GET post = %d %v", unsafe.name, status, p)
		}
	}
}

// TestManifestValidation: a bad manifest of each kind the issue names fails
// CreateDeployment with InvalidArgument naming the line and the field,
// before any deployment or sandbox exists, and ValidateManifest returns the
// same diagnostic without deploying.
func TestManifestValidation(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	ctx := context.Background()
	const head = "name: shop\nentities:\n  - name: Item\n    fields:\n"
	for _, tc := range []struct {
		name, manifest string
		line           int32
		path           string
	}{
		{"unknown key", head + "      - name: price\n        type: number\n        colour: red\n", 7, "entities[0].fields[0].colour"},
		{"unknown type", head + "      - name: price\n        type: money\n", 6, "entities[0].fields[0].type"},
		{"unknown entity reference", head + "      - name: maker\n        type: ref\n        ref: Maker\n", 7, "entities[0].fields[0].ref"},
		{"duplicate entity", head + "      - name: price\n        type: number\n  - name: Item\n    fields: []\n", 7, "entities[1].name"},
		{"duplicate field", head + "      - name: price\n        type: number\n      - name: price\n        type: integer\n", 7, "entities[0].fields[1].name"},
		{"entity name not an identifier", "name: shop\nentities:\n  - name: 2Items\n    fields: []\n", 3, "entities[0].name"},
		{"field name not an identifier", head + "      - name: unit-price\n        type: number\n", 5, "entities[0].fields[0].name"},
		{"enum without values", head + "      - name: state\n        type: enum\n", 5, "entities[0].fields[0].enum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.client.CreateDeployment(ctx, withToken(&coderunnerv1.CreateDeploymentRequest{
				Name: "shop", Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(tc.manifest)}},
			}, e.token))
			cerr := wantCode(t, err, connect.CodeInvalidArgument, fmt.Sprintf("line %d", tc.line), tc.path)
			if v := violations(t, cerr); len(v) != 1 || !strings.HasPrefix(v[0], "files:") {
				t.Errorf("field violations %v, want one on files", v)
			}
			res, err := e.client.ValidateManifest(ctx, withToken(&coderunnerv1.ValidateManifestRequest{Content: tc.manifest}, e.token))
			if err != nil {
				t.Fatal(err)
			}
			diags := res.Msg.GetDiagnostics()
			if res.Msg.GetValid() || len(diags) != 1 || diags[0].GetLine() != tc.line || diags[0].GetPath() != tc.path || !strings.Contains(cerr.Message(), diags[0].GetMessage()) {
				t.Errorf("ValidateManifest = %v, want the diagnostic CreateDeployment gave: %s", res.Msg, cerr.Message())
			}
		})
	}

	// None of them made a deployment or a sandbox's data dir.
	list, err := e.client.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{}, e.token))
	if err != nil || len(list.Msg.GetDeployments()) != 0 {
		t.Errorf("after bad manifests ListDeployments = %v, %v; want none", list, err)
	}
	if dirs, _ := os.ReadDir(filepath.Join(e.srv.Config.DataDir, "deployments")); len(dirs) != 0 {
		t.Errorf("after bad manifests %d deployment data dirs exist", len(dirs))
	}

	good, err := e.client.ValidateManifest(ctx, withToken(&coderunnerv1.ValidateManifestRequest{Content: string(example(t, "manifest-blog")[0].GetContent())}, e.token))
	if err != nil || !good.Msg.GetValid() || len(good.Msg.GetDiagnostics()) != 0 {
		t.Errorf("the blog example is not valid: %v %v", good.Msg, err)
	}
}
