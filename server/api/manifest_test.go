package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
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
// safe manifest change applies while an unsafe one is refused.
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

	// A safe change (a new optional field) applies and keeps the data.
	files := example(t, "manifest-blog")
	safe := strings.Replace(string(files[0].GetContent()), "      - name: content\n        type: text\n", "      - name: content\n        type: text\n      - name: views\n        type: integer\n", 1)
	if _, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(safe)}}}, e.token)); err != nil {
		t.Fatalf("safe redeploy: %v", err)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if status, _ := e.send(d, "PATCH", "/api/posts/"+post["id"].(string), `{"views":3}`); status != 200 {
		t.Errorf("PATCH the new field = %d", status)
	}

	// An unsafe change (title string → integer with data present) is
	// refused; the running version keeps serving the same data.
	unsafe := strings.Replace(safe, "      - name: title\n        type: string\n", "      - name: title\n        type: integer\n", 1)
	_, err := e.client.RedeployDeployment(ctx, withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(unsafe)}}}, e.token))
	wantCode(t, err, connect.CodeFailedPrecondition, "title", "unchanged")
	if got := e.get(d.GetId()); got.GetStatus() != statusRunning || got.GetRevision() != 2 {
		t.Errorf("after the refused change: %v revision %d", got.GetStatus(), got.GetRevision())
	}
	if status, p := e.send(d, "GET", "/api/posts/"+post["id"].(string), ""); status != 200 || p["title"] != "Hello" || p["views"] != float64(3) {
		t.Errorf("after the refused change GET post = %d %v", status, p)
	}
}

// TestManifestValidation: a bad manifest fails CreateDeployment with the
// line and field, before any sandbox exists, and ValidateManifest returns
// the same diagnostics.
func TestManifestValidation(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	bad := "name: shop\nentities:\n  - name: Item\n    fields:\n      - name: price\n        type: money\n"
	_, err := e.client.CreateDeployment(context.Background(), withToken(&coderunnerv1.CreateDeploymentRequest{
		Name: "shop", Files: []*coderunnerv1.SourceFile{{Path: "manifest.yaml", Content: []byte(bad)}},
	}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument, "line 6", "entities[0].fields[0].type")
	res, err := e.client.ValidateManifest(context.Background(), withToken(&coderunnerv1.ValidateManifestRequest{Content: bad}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	if res.Msg.GetValid() || len(res.Msg.GetDiagnostics()) != 1 || res.Msg.GetDiagnostics()[0].GetLine() != 6 || res.Msg.GetDiagnostics()[0].GetPath() != "entities[0].fields[0].type" {
		t.Errorf("ValidateManifest = %v", res.Msg)
	}
	good, err := e.client.ValidateManifest(context.Background(), withToken(&coderunnerv1.ValidateManifestRequest{Content: string(example(t, "manifest-blog")[0].GetContent())}, e.token))
	if err != nil || !good.Msg.GetValid() {
		t.Errorf("the blog example is not valid: %v %v", good.Msg, err)
	}
}
