package api_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/coderunner/coderunner/server/testenv"
)

// TestGrpcurl drives the register → login → verify round trip with grpcurl
// (pinned as a tool in go.mod), which knows the API only through reflection.
func TestGrpcurl(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	addr := strings.TrimPrefix(srv.URL, "http://")
	grpcurl := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command("go", append([]string{"tool", "grpcurl", "-plaintext"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	mustGrpcurl := func(args ...string) map[string]any {
		t.Helper()
		out, err := grpcurl(args...)
		if err != nil {
			t.Fatalf("grpcurl %v: %v\n%s", args, err, out)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("grpcurl %v printed %s", args, out)
		}
		return res
	}

	out, err := grpcurl(addr, "list")
	if err != nil {
		t.Fatalf("grpcurl list: %v\n%s", err, out)
	}
	for _, service := range []string{"coderunner.v1.AuthService", "coderunner.v1.DeploymentService", "coderunner.v1.MetricsService", "grpc.health.v1.Health"} {
		if !strings.Contains(out, service) {
			t.Errorf("grpcurl list lacks %s:\n%s", service, out)
		}
	}

	email := uniqueEmail("grpcurl")
	creds := `{"email":"` + email + `","password":"` + testPassword + `"}`
	mustGrpcurl("-d", creds, addr, "coderunner.v1.AuthService/Register")
	login := mustGrpcurl("-d", creds, addr, "coderunner.v1.AuthService/Login")
	token, _ := login["token"].(string)
	if token == "" {
		t.Fatalf("Login printed no token: %v", login)
	}
	verify := mustGrpcurl("-H", "Authorization: Bearer "+token, "-d", "{}", addr, "coderunner.v1.AuthService/Verify")
	if user, _ := verify["user"].(map[string]any); user["email"] != email {
		t.Errorf("Verify printed %v", verify)
	}

	out, err = grpcurl("-d", "{}", addr, "coderunner.v1.AuthService/Verify")
	if err == nil || !strings.Contains(out, "Unauthenticated") || !strings.Contains(out, "missing credentials") {
		t.Errorf("Verify without a token: err %v, output %s", err, out)
	}
	out, err = grpcurl("-d", `{"email":"x","password":"y"}`, addr, "coderunner.v1.AuthService/Register")
	if err == nil || !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "valid email") {
		t.Errorf("Register with a bad email: err %v, output %s", err, out)
	}
}
