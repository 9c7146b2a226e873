package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/encoding/protojson"
)

// deployExample creates a deployment from examples/<name> with plain JSON.
func deployExample(t *testing.T, p *process, token, name, example string) string {
	t.Helper()
	req := &coderunnerv1.CreateDeploymentRequest{Name: name}
	dir := filepath.Join("..", "..", "..", "examples", example)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		content, err := os.ReadFile(filepath.Join(dir, entry.Name()))
		if err != nil {
			t.Fatal(err)
		}
		req.Files = append(req.Files, &coderunnerv1.SourceFile{Path: entry.Name(), Content: content})
	}
	body, _ := protojson.Marshal(req)
	status, res := p.call(t, "DeploymentService/CreateDeployment", string(body), token)
	d, _ := res["deployment"].(map[string]any)
	if status != 200 || d == nil {
		t.Fatalf("CreateDeployment = %d %v", status, res)
	}
	return d["id"].(string)
}

// deployment reads a deployment with plain JSON.
func deployment(t *testing.T, p *process, token, id string) map[string]any {
	t.Helper()
	status, res := p.call(t, "DeploymentService/GetDeployment", `{"id":"`+id+`"}`, token)
	d, _ := res["deployment"].(map[string]any)
	if status != 200 || d == nil {
		t.Fatalf("GetDeployment = %d %v", status, res)
	}
	return d
}

func waitStatus(t *testing.T, p *process, token, id, want string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d := deployment(t, p, token, id)
		if d["status"] == want {
			return d
		}
		if d["status"] == "DEPLOYMENT_STATUS_FAILED" || time.Now().After(deadline) {
			t.Fatalf("deployment is %v (%v), want %s", d["status"], d["statusReason"], want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fetchApp GETs a deployment's URL through the server's port.
func fetchApp(t *testing.T, p *process, appURL string) (int, string) {
	t.Helper()
	addr := strings.TrimPrefix(p.url, "http://")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	res, err := client.Get(appURL)
	if err != nil {
		t.Fatalf("GET %s: %v", appURL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// kill ends the server the hard way: no shutdown, no cleanup.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

func events(t *testing.T, p *process, token, id string) string {
	t.Helper()
	_, res := p.call(t, "DeploymentService/ListDeploymentEvents", `{"deploymentId":"`+id+`","pageSize":200}`, token)
	var reasons []string
	list, _ := res["events"].([]any)
	for _, e := range list {
		ev := e.(map[string]any)
		reasons = append(reasons, ev["status"].(string)+": "+ev["reason"].(string))
	}
	return strings.Join(reasons, "\n")
}

// TestKillAndRestart kills the server with SIGKILL while one app runs and
// another builds, starts it again on the same data dir, and checks that
// both end up running and nothing is stuck mid-deploy.
func TestKillAndRestart(t *testing.T) {
	dataDir := filepath.Join(testenv.DataDir(t), "data")
	env := []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET="}
	addr := freeAddr(t)
	p := startServe(t, env, "--data-dir", dataDir, "--addr", addr)
	token := roundTrip(t, p, "kill@example.com")

	running := deployExample(t, p, token, "hello", "node-hello")
	d := waitStatus(t, p, token, running, "DEPLOYMENT_STATUS_RUNNING", 30*time.Second)
	appURL := d["url"].(string)
	if status, _ := fetchApp(t, p, appURL); status != 200 {
		t.Fatalf("app answered %d before the kill", status)
	}
	building := deployExample(t, p, token, "express", "express-app")
	waitStatus(t, p, token, building, "DEPLOYMENT_STATUS_BUILDING", time.Minute)

	p.kill(t)

	p = startServe(t, env, "--data-dir", dataDir, "--addr", addr)
	again := waitStatus(t, p, token, running, "DEPLOYMENT_STATUS_RUNNING", 30*time.Second)
	// The run begun after the restart is a new run.
	if before, after := d["startedAt"].(string), again["startedAt"].(string); after <= before {
		t.Errorf("startedAt %s after the server restart, want later than %s", after, before)
	}
	// The log says why the app started again.
	if _, logs := p.call(t, "DeploymentService/GetLogs", `{"deploymentId":"`+running+`","limit":1000}`, token); !strings.Contains(fmt.Sprint(logs), "the server restarted; starting again") {
		t.Errorf("the log does not say the server restarted:\n%v", logs)
	}
	if status, body := fetchApp(t, p, appURL); status != 200 {
		t.Errorf("app answered %d %s after the restart", status, body)
	}
	waitStatus(t, p, token, building, "DEPLOYMENT_STATUS_RUNNING", 3*time.Minute)
	if ev := events(t, p, token, running); !strings.Contains(ev, "the server restarted; starting again") {
		t.Errorf("running app's events:\n%s", ev)
	}
	if ev := events(t, p, token, building); !strings.Contains(ev, "the server restarted while the deployment was building") {
		t.Errorf("building app's events:\n%s", ev)
	}
	p.stop(t)
}
