package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/testenv"
)

// loggedIn starts a server and a CLI user logged in to it.
func loggedIn(t *testing.T, email string) (*process, *cliUser) {
	t.Helper()
	p := startServe(t, []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET="}, "--data-dir", filepath.Join(testenv.DataDir(t), "data"))
	roundTrip(t, p, email)
	u := newCLIUser(t)
	if r := u.run(email+"\ncorrect horse battery\n", "login", "--server", p.url); r.code != 0 {
		t.Fatalf("login: %s", r.stderr)
	}
	return p, u
}

// TestCLIDeploy is the CLI's life of an app: deploy a folder (its ignored
// files left behind) with the build followed live to a URL that answers,
// redeploy it from the same folder, read it every way, drive it through
// stop, start and restart, and delete it.
func TestCLIDeploy(t *testing.T) {
	p, u := loggedIn(t, "deployer@example.com")
	dir := copyExample(t, "express-app")
	// What must not be sent: ignored by .gitignore, by .coderunnerignore,
	// and node_modules and .git whatever the ignore files say. A broken
	// node_modules/express sent along would break the app.
	writeFile(t, filepath.Join(dir, ".gitignore"), "*.log\n")
	writeFile(t, filepath.Join(dir, ".coderunnerignore"), "notes/\n!node_modules/\n")
	writeFile(t, filepath.Join(dir, "debug.log"), "")
	writeFile(t, filepath.Join(dir, "notes", "draft.md"), "")
	writeFile(t, filepath.Join(dir, "node_modules", "express", "package.json"), `{"name":"express","main":"broken.js"}`)
	writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n")

	r := u.ok("deploy", dir)
	// index.js, package.json, package-lock.json and the two ignore files.
	if !strings.Contains(r.stderr, "==> packed 5 files") {
		t.Errorf("the pack did not leave the ignored files out:\n%s", r.stderr)
	}
	if !strings.Contains(r.stderr, "==> created express-app (") || !strings.Contains(r.stderr, "==> running after ") {
		t.Errorf("no progress lines on stderr:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, " build ") || !strings.Contains(r.stdout, "npm ci") {
		t.Errorf("the build was not followed live:\n%s", r.stdout)
	}
	m := deployedLine.FindStringSubmatch(r.stdout)
	if m == nil || m[1] != "express-app" || m[2] != "1" {
		t.Fatalf("no Deployed line for revision 1:\n%s", r.stdout)
	}
	url := m[3]
	if status, body := fetchApp(t, p, url); status != 200 {
		t.Errorf("GET %s = %d %s", url, status, body)
	}
	state, err := os.ReadFile(filepath.Join(dir, ".coderunner.json"))
	if err != nil || !strings.Contains(string(state), `"name": "express-app"`) {
		t.Fatalf(".coderunner.json: %v %s", err, state)
	}

	// The same folder again is a redeploy of the same deployment.
	r = u.ok("deploy", dir, "--env", "GREETING=again")
	if !strings.Contains(r.stderr, "==> redeploying express-app") {
		t.Errorf("a second deploy did not redeploy:\n%s", r.stderr)
	}
	if m := deployedLine.FindStringSubmatch(r.stdout); m == nil || m[3] != url {
		t.Errorf("the redeploy did not end at the same URL:\n%s", r.stdout)
	}

	checkReads(t, u, url)
	checkLogs(t, u)
	checkActions(t, u, p, url)
}

// checkReads: ls, status and open, as text and as --json.
func checkReads(t *testing.T, u *cliUser, url string) {
	r := u.ok("ls")
	if !strings.Contains(r.stdout, "NAME") || !regexpLine(r.stdout, `^express-app\s+running\s+`+url) {
		t.Errorf("ls:\n%s", r.stdout)
	}
	list := jsonOf(t, u.ok("ls", "--json"))
	ds, _ := list["deployments"].([]any)
	if len(ds) != 1 {
		t.Fatalf("ls --json: %v", list)
	}
	id := ds[0].(map[string]any)["id"].(string)

	r = u.ok("status", "express-app")
	for _, want := range []string{"Status:", "running", "URL:", url, "Revision:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	d := jsonOf(t, u.ok("status", id, "--json"))["deployment"].(map[string]any)
	if d["status"] != "DEPLOYMENT_STATUS_RUNNING" || d["name"] != "express-app" {
		t.Errorf("status --json by id: %v", d)
	}
	if env, _ := d["env"].(map[string]any); env["GREETING"] != "again" {
		t.Errorf("deploy --env did not reach the deployment: env %v", d["env"])
	}
	if r := u.ok("open", "express-app"); strings.TrimSpace(r.stdout) != url {
		t.Errorf("open printed %q, want %s", r.stdout, url)
	}
	if d := jsonOf(t, u.ok("open", "express-app", "--json"))["deployment"].(map[string]any); d["url"] != url {
		t.Errorf("open --json: %v", d)
	}
}

// checkLogs: the phase filters, --since, --json and following until ^C.
func checkLogs(t *testing.T, u *cliUser) {
	build := u.ok("logs", "express-app", "--build").stdout
	run := u.ok("logs", "express-app", "--run").stdout
	if !strings.Contains(build, "npm ci") || strings.Contains(build, " run/") {
		t.Errorf("logs --build:\n%s", build)
	}
	if !strings.Contains(run, " run/0 ") || strings.Contains(run, " build ") {
		t.Errorf("logs --run:\n%s", run)
	}
	if r := u.ok("logs", "express-app", "--since", "10m"); !strings.Contains(r.stdout, "npm ci") {
		t.Errorf("logs --since 10m lost lines of the last minute:\n%s", r.stdout)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := u.ok("logs", "express-app", "--since", "1s", "--build"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("logs --since 1s printed older build lines:\n%s", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(u.ok("logs", "express-app", "--json", "--tail", "3").stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], `{"seq":`) {
		t.Errorf("logs --json --tail 3:\n%s", strings.Join(lines, "\n"))
	}

	// -f keeps going until interrupted; ^C is a normal exit.
	cmd, stdout, stderr := u.command("", "logs", "-f", "express-app")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if cmd.ProcessState != nil {
		t.Fatalf("logs -f ended by itself: %s", stderr)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("logs -f after ^C: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout.String(), " run/0 ") {
		t.Errorf("logs -f printed no run lines:\n%s", stdout)
	}
}

// checkActions: stop, start, restart and delete by name.
func checkActions(t *testing.T, u *cliUser, p *process, url string) {
	if r := u.ok("stop", "express-app"); !strings.HasPrefix(r.stdout, "express-app: stop") {
		t.Errorf("stop: %q", r.stdout)
	}
	if d := jsonOf(t, u.ok("status", "express-app", "--json"))["deployment"].(map[string]any); d["status"] != "DEPLOYMENT_STATUS_STOPPED" {
		t.Errorf("after stop: %v", d["status"])
	}
	u.ok("start", "express-app")
	waitCLIStatus(t, u, "express-app", "DEPLOYMENT_STATUS_RUNNING")
	if status, _ := fetchApp(t, p, url); status != 200 {
		t.Errorf("after start GET %s = %d", url, status)
	}
	u.ok("restart", "express-app")
	waitCLIStatus(t, u, "express-app", "DEPLOYMENT_STATUS_RUNNING")
	if r := u.ok("delete", "express-app"); !strings.HasPrefix(r.stdout, "Deleted express-app (") {
		t.Errorf("delete: %q", r.stdout)
	}
	u.fails([]string{`error: not_found: you have no deployment named "express-app"`}, "status", "express-app")
}

func waitCLIStatus(t *testing.T, u *cliUser, name, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d := jsonOf(t, u.ok("status", name, "--json"))["deployment"].(map[string]any)
		if d["status"] == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %v after a minute, want %s", name, d["status"], want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// regexpLine reports whether a line of text matches pattern.
func regexpLine(text, pattern string) bool {
	return regexp.MustCompile("(?m)" + pattern).MatchString(text)
}

// TestCLIDeployErrors: a refused request prints the Connect code, the
// server's message and each field violation on a line; a deployment that
// FAILED exits 1 with the reason.
func TestCLIDeployErrors(t *testing.T) {
	_, u := loggedIn(t, "errors@example.com")
	dir := copyExample(t, "node-hello")
	u.fails([]string{"error: invalid_argument: ", "\n  name: "}, "deploy", dir, "--name", "Not A Name!")
	if _, err := os.Stat(filepath.Join(dir, ".coderunner.json")); err == nil {
		t.Error("a refused deploy wrote .coderunner.json")
	}
	empty := filepath.Join(testenv.DataDir(t), "empty")
	writeFile(t, filepath.Join(empty, "README.md"), "nothing to run")
	u.fails([]string{"error: invalid_argument: ", "package.json"}, "deploy", empty)

	broken := filepath.Join(testenv.DataDir(t), "broken")
	writeFile(t, filepath.Join(broken, "package.json"), `{"name":"broken"}`)
	writeFile(t, filepath.Join(broken, "index.js"), `require("./missing-module");`)
	r := u.fails([]string{"the deployment failed: ", "exited with code 1 before listening", "Cannot find module './missing-module'"}, "deploy", broken)
	if strings.Contains(r.stdout, "Deployed ") {
		t.Errorf("a FAILED deploy printed a Deployed line:\n%s", r.stdout)
	}
}

// TestCLIDeployTarget: which deployment a deploy replaces. --name picks
// the caller's deployment of that name, or creates it; without it the
// folder's .coderunner.json decides, and a deployment deleted since is
// created anew.
func TestCLIDeployTarget(t *testing.T) {
	_, u := loggedIn(t, "target@example.com")
	dir := copyExample(t, "node-hello")
	if r := u.ok("deploy", dir); !strings.Contains(r.stderr, "==> created node-hello (") {
		t.Fatalf("first deploy:\n%s", r.stderr)
	}
	other := filepath.Join(testenv.DataDir(t), "copy")
	if err := os.CopyFS(other, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(other, ".coderunner.json")); err != nil {
		t.Fatal(err)
	}
	if r := u.ok("deploy", other, "--name", "node-hello"); !strings.Contains(r.stderr, "==> redeploying node-hello as revision 2") {
		t.Errorf("deploy --name of an existing deployment did not redeploy it:\n%s", r.stderr)
	}
	if r := u.ok("deploy", dir, "--name", "second"); !strings.Contains(r.stderr, "==> created second (") {
		t.Errorf("deploy --name of a new name did not create it:\n%s", r.stderr)
	}
	if state, _ := os.ReadFile(filepath.Join(dir, ".coderunner.json")); !strings.Contains(string(state), `"name": "second"`) {
		t.Errorf(".coderunner.json does not follow the last deploy: %s", state)
	}
	u.ok("delete", "second")
	r := u.ok("deploy", dir)
	if !strings.Contains(r.stderr, "==> second no longer exists on ") || !strings.Contains(r.stderr, "==> created second (") {
		t.Errorf("a deploy after the deployment was deleted:\n%s", r.stderr)
	}
}
