package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

// leakyApp prints its secret at start (plain and base64) and on every
// request, as careless apps do; every line must reach the logs masked.
var leakyApp = []*coderunnerv1.SourceFile{
	{Path: "package.json", Content: []byte(`{"name":"leaky","main":"index.js"}`)},
	{Path: "index.js", Content: []byte(`const token = process.env.API_TOKEN || "";
console.log("starting with token " + token);
console.error("encoded " + Buffer.from(token).toString("base64"));
require("http").createServer((q, s) => {
  console.log("request with " + token);
  s.end("token length " + token.length);
}).listen(process.env.PORT);
`)},
}

// crashingApp prints its secret and exits: the failure reason quotes it.
var crashingApp = []*coderunnerv1.SourceFile{
	{Path: "package.json", Content: []byte(`{"name":"crashing","main":"index.js"}`)},
	{Path: "index.js", Content: []byte(`console.error("cannot connect with " + process.env.API_TOKEN); process.exit(3);`)},
}

func (e *engine) configClient() coderunnerv1connect.ConfigServiceClient {
	return coderunnerv1connect.NewConfigServiceClient(testenv.HTTP1Client(), e.srv.URL, connect.WithProtoJSON())
}

func (e *engine) setSecret(id, name, value string) *coderunnerv1.Secret {
	e.t.Helper()
	res, err := e.configClient().SetSecret(context.Background(), withToken(&coderunnerv1.SetSecretRequest{
		Scope: &coderunnerv1.SetSecretRequest_DeploymentId{DeploymentId: id}, Name: name, Value: value}, e.token))
	if err != nil {
		e.t.Fatalf("SetSecret %s: %v", name, err)
	}
	return res.Msg.GetSecret()
}

func randomValue() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "tok_" + hex.EncodeToString(b)
}

// waitForLine polls the stored logs until one contains want.
func (e *engine) waitForLine(id, want string) string {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		text := e.logText(id)
		if strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no log line contains %q; logs:\n%s", want, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecretsMasked(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			e := newEngine(t, db, testenv.Options{})
			d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "leaky", Files: leakyApp})
			e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)

			value := randomValue()
			if s := e.setSecret(d.GetId(), "API_TOKEN", value); s.GetVersion() != 1 || s.GetName() != "API_TOKEN" {
				t.Fatalf("SetSecret = %v", s)
			}
			// The running deployment restarts with it.
			deadline := time.Now().Add(time.Minute)
			for {
				if status, body := e.fetch(d, "/"); status == 200 && body == "token length 28" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the app never got the secret; events %v", e.events(d.GetId()))
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !contains(e.events(d.GetId()), "PENDING: secret API_TOKEN set; restarting") {
				t.Errorf("events %v", e.events(d.GetId()))
			}
			text := e.waitForLine(d.GetId(), "request with [secret:API_TOKEN]")
			for _, want := range []string{"starting with token [secret:API_TOKEN]", "encoded [secret:API_TOKEN]"} {
				if !strings.Contains(text, want) {
					t.Errorf("logs lack %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, value) {
				t.Errorf("GetLogs shows the secret:\n%s", text)
			}
			e.assertNotInStream(d.GetId(), value)
			e.assertNotInDownload(d.GetId(), value)

			again := e.setSecret(d.GetId(), "API_TOKEN", randomValue())
			if again.GetVersion() != 2 {
				t.Errorf("second SetSecret version %d, want 2", again.GetVersion())
			}
			list, err := e.configClient().ListSecrets(context.Background(), withToken(&coderunnerv1.ListSecretsRequest{
				Scope: &coderunnerv1.ListSecretsRequest_DeploymentId{DeploymentId: d.GetId()}}, e.token))
			if err != nil || len(list.Msg.GetSecrets()) != 1 || list.Msg.GetSecrets()[0].GetUpdatedBy() == "" {
				t.Fatalf("ListSecrets = %v, %v", list, err)
			}
			e.assertNotStored(db, value)
		})
	}
}

// assertNotInStream replays the logs over StreamLogs and checks value is
// absent.
func (e *engine) assertNotInStream(id, value string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stream, err := e.client.StreamLogs(ctx, withToken(&coderunnerv1.StreamLogsRequest{DeploymentId: id}, e.token))
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = stream.Close() }()
	masked := false
	for !masked && stream.Receive() {
		for _, l := range stream.Msg().GetEntries() {
			if strings.Contains(l.GetText(), value) {
				e.t.Fatalf("StreamLogs shows the secret: %q", l.GetText())
			}
			masked = masked || strings.Contains(l.GetText(), "[secret:API_TOKEN]")
		}
	}
	if !masked {
		e.t.Errorf("StreamLogs never sent a masked line: %v", stream.Err())
	}
}

func (e *engine) assertNotInDownload(id, value string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/deployments/"+id+"/logs.txt", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	res, err := testenv.HTTP1Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || bytes.Contains(body, []byte(value)) || !bytes.Contains(body, []byte("[secret:API_TOKEN]")) {
		e.t.Errorf("logs.txt = %d, masked %v, leaks %v", res.StatusCode, bytes.Contains(body, []byte("[secret:API_TOKEN]")), bytes.Contains(body, []byte(value)))
	}
}

// assertNotStored checks the database's own bytes: the SQLite file and its
// WAL, or a pg_dump of the test's schema.
func (e *engine) assertNotStored(db testenv.Database, value string) {
	e.t.Helper()
	var dump []byte
	if db.URL == "" {
		for _, name := range []string{"coderunner.db", "coderunner.db-wal"} {
			data, err := os.ReadFile(filepath.Join(e.srv.Config.DataDir, name))
			if err != nil && !os.IsNotExist(err) {
				e.t.Fatal(err)
			}
			dump = append(dump, data...)
		}
		if len(dump) == 0 {
			e.t.Fatal("read no database bytes")
		}
	} else {
		u, _ := url.Parse(db.URL)
		schema := u.Query().Get("search_path")
		u.RawQuery = "sslmode=disable"
		out, err := exec.Command("pg_dump", "--dbname", u.String(), "--schema", schema, "--data-only").Output()
		if err != nil {
			e.t.Fatalf("pg_dump: %v", err)
		}
		if !bytes.Contains(out, []byte("deployment_secrets")) {
			e.t.Fatalf("the dump holds no secrets table:\n%.500s", out)
		}
		dump = out
	}
	if bytes.Contains(dump, []byte(value)) {
		e.t.Errorf("the database holds the secret in plaintext")
	}
}

func TestSecretInFailureReason(t *testing.T) {
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "crashing", Files: crashingApp})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, time.Minute)
	value := randomValue()
	e.setSecret(d.GetId(), "API_TOKEN", value) // not running: stored, no restart
	if _, err := e.client.StartDeployment(context.Background(), withToken(&coderunnerv1.StartDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		got := e.get(d.GetId())
		if got.GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED && strings.Contains(got.GetStatusReason(), "cannot connect with") {
			if strings.Contains(got.GetStatusReason(), value) || !strings.Contains(got.GetStatusReason(), "cannot connect with [secret:API_TOKEN]") {
				t.Fatalf("failure reason %q", got.GetStatusReason())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %v (%s)", got.GetStatus(), got.GetStatusReason())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, ev := range e.events(d.GetId()) {
		if strings.Contains(ev, value) {
			t.Errorf("an event shows the secret: %s", ev)
		}
	}
}

func TestSecretsBadInput(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "target", Files: crashingApp})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED, time.Minute)
	c := e.configClient()
	set := func(id, name, value string) error {
		_, err := c.SetSecret(ctx, withToken(&coderunnerv1.SetSecretRequest{
			Scope: &coderunnerv1.SetSecretRequest_DeploymentId{DeploymentId: id}, Name: name, Value: value}, e.token))
		return err
	}
	for _, bad := range []struct{ name, value, violation string }{
		{"PORT", "something", "name:secret_reserved"},
		{"HOST", "something", "name:secret_reserved"},
		{"1ST", "something", "name:string.pattern"},
		{"WITH-DASH", "something", "name:string.pattern"},
		{"BIG", strings.Repeat("x", 32769), "value:string.max_bytes"},
		{"EMPTY", "", "value:string.min_len"},
	} {
		err := wantCode(t, set(d.GetId(), bad.name, bad.value), connect.CodeInvalidArgument)
		if v := violations(t, err); !contains(v, bad.violation) {
			t.Errorf("SetSecret(%s): violations %v, want %s", bad.name, v, bad.violation)
		}
	}
	_, err := c.SetSecret(ctx, withToken(&coderunnerv1.SetSecretRequest{Name: "NO_SCOPE", Value: "something"}, e.token))
	wantCode(t, err, connect.CodeInvalidArgument)

	// Another user's deployment is not found, exactly like a missing one.
	other := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{}).on(e.srv)
	other.token, _ = signUp(t, authClient(e.srv, protocols()[0]))
	_, err = other.configClient().SetSecret(ctx, withToken(&coderunnerv1.SetSecretRequest{
		Scope: &coderunnerv1.SetSecretRequest_DeploymentId{DeploymentId: d.GetId()}, Name: "X_KEY", Value: "something"}, other.token))
	wantCode(t, err, connect.CodeNotFound)
	_, err = other.configClient().ListSecrets(ctx, withToken(&coderunnerv1.ListSecretsRequest{
		Scope: &coderunnerv1.ListSecretsRequest_DeploymentId{DeploymentId: d.GetId()}}, other.token))
	wantCode(t, err, connect.CodeNotFound)
	_, err = c.DeleteSecret(ctx, withToken(&coderunnerv1.DeleteSecretRequest{
		Scope: &coderunnerv1.DeleteSecretRequest_DeploymentId{DeploymentId: d.GetId()}, Name: "NEVER_SET"}, e.token))
	wantCode(t, err, connect.CodeNotFound, `no secret named "NEVER_SET"`)

	for i := range 100 {
		if err := set(d.GetId(), "S"+itoa(int64(i)), "value-"+itoa(int64(i))); err != nil {
			t.Fatalf("secret %d: %v", i, err)
		}
	}
	wantCode(t, set(d.GetId(), "ONE_TOO_MANY", "something"), connect.CodeResourceExhausted, "at most 100 secrets")
	// Replacing one of the 100 is fine; deleting one makes room.
	if err := set(d.GetId(), "S0", "another value"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecret(ctx, withToken(&coderunnerv1.DeleteSecretRequest{
		Scope: &coderunnerv1.DeleteSecretRequest_DeploymentId{DeploymentId: d.GetId()}, Name: "S0"}, e.token)); err != nil {
		t.Fatal(err)
	}
	if err := set(d.GetId(), "ONE_MORE", "something"); err != nil {
		t.Fatal(err)
	}
}
