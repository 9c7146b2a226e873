package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCLIActivity: activity prints the audit log oldest first, by
// deployment and action, redacts secret values, and --follow prints new
// events live until ^C.
func TestCLIActivity(t *testing.T) {
	_, u := loggedIn(t, "activity@example.com")
	dir := copyExample(t, "node-hello")
	u.ok("deploy", dir, "--name", "act")
	waitCLIStatus(t, u, "act", "DEPLOYMENT_STATUS_RUNNING")
	u.ok("secrets", "set", "act", "API_KEY=sk_live_activity_value")

	r := u.ok("activity")
	if strings.Contains(r.stdout, "sk_live_activity_value") {
		t.Fatalf("activity shows a secret value:\n%s", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, "ImportConfig") || !strings.Contains(last, " ok ") || !strings.Contains(last, "by activity@example.com") ||
		!strings.Contains(last, "dotenv=[redacted]") || !strings.Contains(r.stdout, "CreateDeployment") {
		t.Fatalf("activity:\n%s", r.stdout)
	}
	if r := u.ok("activity", "act"); strings.Contains(r.stdout, "Login") || !strings.Contains(r.stdout, "ImportConfig") {
		t.Errorf("activity act shows more than the deployment's:\n%s", r.stdout)
	}
	events := jsonOf(t, u.ok("activity", "--action", "ImportConfig", "--json"))["events"].([]any)
	for _, e := range events {
		if action := e.(map[string]any)["action"]; action != "/coderunner.v1.ConfigService/ImportConfig" {
			t.Errorf("activity --action ImportConfig --json lists %v", action)
		}
	}
	if len(events) != 1 {
		t.Errorf("activity --action ImportConfig --json: %d events, want 1", len(events))
	}

	cmd, stdout, stderr := u.command("", "activity", "act", "--follow", "--json", "-n", "1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	u.ok("secrets", "rm", "act", "API_KEY")
	time.Sleep(1500 * time.Millisecond)
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("activity --follow after ^C: %v\n%s", err, stderr)
	}
	got := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(got) != 2 || !strings.Contains(got[0], "ImportConfig") || !strings.Contains(got[1], "DeleteSecret") {
		t.Errorf("activity --follow printed:\n%s", stdout)
	}

	if r := u.run("", "activity", "-n", "0"); r.code != 2 || !strings.Contains(r.stderr, "between 1 and 200") {
		t.Errorf("activity -n 0 exited %d: %s", r.code, r.stderr)
	}
	u.fails([]string{"not_found"}, "activity", "nosuch")
}
