package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/encoding/protojson"
)

// digestApp answers with the first 12 hex digits of its secret's sha256,
// so the test sees which value the app has without the app showing it.
var digestApp = []*coderunnerv1.SourceFile{
	{Path: "package.json", Content: []byte(`{"name":"digest","main":"index.js"}`)},
	{Path: "index.js", Content: []byte(`const h = require("crypto").createHash("sha256").update(process.env.API_TOKEN || "").digest("hex").slice(0, 12);
require("http").createServer((q, s) => s.end(h)).listen(process.env.PORT);
`)},
}

func digestOf(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])[:12]
}

// rotate runs `coderunner rotate-secrets` with env.
func rotate(t *testing.T, dataDir string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "rotate-secrets", "--data-dir", dataDir)
	cmd.Env = append(append(os.Environ(), "CODERUNNER_TEST_MAIN=1", "DATABASE_URL="), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func waitDigest(t *testing.T, p *process, appURL, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if status, body := fetchApp(t, p, appURL); status == 200 && body == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app never answered %s", want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRotateSecrets: secrets sealed with the generated key file are sealed
// again with a new key by rotate-secrets; the server then runs with only
// the new key and the app still gets its value.
func TestRotateSecrets(t *testing.T) {
	dataDir := filepath.Join(testenv.DataDir(t), "data")
	env := []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET=", "CODERUNNER_SECRET_KEY=", "CODERUNNER_SECRET_KEY_PREVIOUS="}
	addr := freeAddr(t)
	p := startServe(t, env, "--data-dir", dataDir, "--addr", addr)
	token := roundTrip(t, p, "rotate@example.com")
	body, _ := protojson.Marshal(&coderunnerv1.CreateDeploymentRequest{Name: "digest", Files: digestApp})
	status, res := p.call(t, "DeploymentService/CreateDeployment", string(body), token)
	if status != 200 {
		t.Fatalf("CreateDeployment = %d %v", status, res)
	}
	id := res["deployment"].(map[string]any)["id"].(string)
	appURL := waitStatus(t, p, token, id, "DEPLOYMENT_STATUS_RUNNING", time.Minute)["url"].(string)
	value := "sk_live_" + strings.Repeat("r", 20)
	set, _ := json.Marshal(map[string]string{"deploymentId": id, "name": "API_TOKEN", "value": value})
	if status, res := p.call(t, "ConfigService/SetSecret", string(set), token); status != 200 {
		t.Fatalf("SetSecret = %d %v", status, res)
	}
	waitDigest(t, p, appURL, digestOf(value))
	// A project's secret is sealed again too.
	projectID := res["deployment"].(map[string]any)["projectId"].(string)
	shared, _ := json.Marshal(map[string]string{"projectId": projectID, "name": "SHARED_TOKEN", "value": "shared_" + value})
	if status, res := p.call(t, "ConfigService/SetSecret", string(shared), token); status != 200 {
		t.Fatalf("SetSecret(project) = %d %v", status, res)
	}
	waitStatus(t, p, token, id, "DEPLOYMENT_STATUS_RUNNING", time.Minute)
	p.stop(t)

	oldKey, err := os.ReadFile(filepath.Join(dataDir, secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	newKey := secrets.NewKey()
	// Without the old key, nothing can be opened, and nothing changes.
	if out, err := rotate(t, dataDir, "CODERUNNER_SECRET_KEY="+newKey); err == nil || !strings.Contains(out, "CODERUNNER_SECRET_KEY_PREVIOUS") {
		t.Fatalf("rotate without the previous key: %v\n%s", err, out)
	}
	out, err := rotate(t, dataDir, "CODERUNNER_SECRET_KEY="+newKey, "CODERUNNER_SECRET_KEY_PREVIOUS="+strings.TrimSpace(string(oldKey)))
	if err != nil || !strings.Contains(out, "sealed 2 secrets again with key") {
		t.Fatalf("rotate-secrets: %v\n%s", err, out)
	}
	newKeys, _ := secrets.LoadKeyring(t.TempDir(), newKey, "")
	db, err := store.Open(context.Background(), "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var keyID string
	for _, table := range []string{"deployment_secrets", "project_secrets"} {
		if err := db.QueryRowContext(context.Background(), "SELECT key_id FROM "+table).Scan(&keyID); err != nil || keyID != newKeys.CurrentID() {
			t.Errorf("%s key_id after rotation %q, %v; want %s", table, keyID, err, newKeys.CurrentID())
		}
	}
	_ = db.Close()

	p = startServe(t, append(env, "CODERUNNER_SECRET_KEY="+newKey), "--data-dir", dataDir, "--addr", addr)
	waitStatus(t, p, token, id, "DEPLOYMENT_STATUS_RUNNING", time.Minute)
	waitDigest(t, p, appURL, digestOf(value))
}
