package main

import (
	"strings"
	"testing"
	"time"
)

// TestCLIScale: scale shows the count, the ready replicas and the policy;
// sets a policy (--min sent only when given), a fixed count (which removes
// a policy) and turns autoscaling off keeping the count; refuses a fixed
// count with policy flags itself and prints the server's refusals.
func TestCLIScale(t *testing.T) {
	_, u := loggedIn(t, "scale@example.com")
	u.ok("deploy", copyExample(t, "node-hello"), "--name", "sc")
	waitCLIStatus(t, u, "sc", "DEPLOYMENT_STATUS_RUNNING")

	wantLines := func(r cliResult, what string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !regexpLine(r.stdout, w) {
				t.Errorf("%s: no line matching %q:\n%s", what, w, r.stdout)
			}
		}
	}
	wantLines(u.ok("scale", "sc"), "scale before a policy",
		`^Replicas: +1$`, `^Ready: +1$`, `^Autoscale: +off \(the count is yours`)

	r := u.ok("scale", "sc", "--min", "0", "--max", "5", "--cpu", "70")
	wantLines(r, "scale --min 0 --max 5 --cpu 70",
		`^Autoscale: +0–5 replicas on CPU 70%$`, `^Step: +1$`, `^Cooldowns: +up 0s, down 5m0s$`, `^Idle: +sleeps after 15m0s without a request$`)
	policy := jsonOf(t, u.ok("scale", "sc", "--json"))["deployment"].(map[string]any)["autoscale"].(map[string]any)
	if policy["minReplicas"] != 0.0 || policy["maxReplicas"] != 5.0 || policy["targetCpuPercent"] != 70.0 {
		t.Errorf("policy after --min 0 --max 5 --cpu 70: %v", policy)
	}
	wantLines(u.ok("scale", "sc"), "scale with a policy", `^Replicas: +1$`, `^Autoscale: +0–5 replicas on CPU 70%$`)

	// Without --min the template's (responsive: 2) applies, and the count
	// rises to it.
	r = u.ok("scale", "sc", "--template", "responsive", "--max", "4", "--p95", "250", "--down-cooldown", "10m")
	wantLines(r, "scale --template responsive",
		`^Replicas: +2$`, `^Autoscale: +2–4 replicas on p95 250ms$`, `^Template: +responsive$`, `^Step: +2$`, `^Cooldowns: +up 0s, down 10m0s$`)

	// A fixed count under a policy removes the policy.
	r = u.ok("scale", "sc", "--replicas", "3")
	wantLines(r, "scale --replicas 3", `^Replicas: +3$`, `^Autoscale: +off`)
	waitCLIReady(t, u, "sc", 3)
	wantLines(u.ok("scale", "sc"), "scale after --replicas 3", `^Replicas: +3$`, `^Ready: +3$`, `^Autoscale: +off`)

	// --off keeps the count the policy left.
	u.ok("scale", "sc", "--inflight", "20", "--max", "3")
	wantLines(u.ok("scale", "sc", "--off"), "scale --off", `^Replicas: +3$`, `^Autoscale: +off`)
	if d := jsonOf(t, u.ok("status", "sc", "--json"))["deployment"].(map[string]any); d["autoscale"] != nil {
		t.Errorf("a policy after --off: %v", d["autoscale"])
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--replicas", "3", "--min", "1"}, "--replicas sets a fixed count and --min an autoscale policy: give one or the other"},
		{[]string{"--off", "--cpu", "50"}, "--off removes the autoscale policy: it takes no --cpu"},
		{[]string{"--replicas", "2", "--off"}, "give --replicas or --off"},
		{[]string{"--replicas", "0"}, "--replicas must be at least 1"},
		{[]string{"--p95", "fast"}, `invalid value "fast" for flag -p95`},
	} {
		args := append([]string{"scale", "sc"}, c.args...)
		if r := u.run("", args...); r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "usage: coderunner scale") {
			t.Errorf("%s: exit %d, want 2 and %q with the usage; stderr:\n%s", strings.Join(args, " "), r.code, c.want, r.stderr)
		}
	}
	u.fails([]string{"error: resource_exhausted: the request has 1 invalid field(s):\n",
		"\n  autoscale.max_replicas: max_replicas 11 is over the quota of 10 replicas per deployment\n"},
		"scale", "sc", "--max", "11", "--cpu", "50")
	u.fails([]string{"error: invalid_argument: ", "\n  autoscale.target_cpu_percent: "}, "scale", "sc", "--cpu", "101")
	u.fails([]string{"error: invalid_argument: ", "give at least one target"}, "scale", "sc", "--max", "4")
	u.fails([]string{`error: not_found: you have no deployment named "nope"`}, "scale", "nope")
	wantLines(u.ok("scale", "sc"), "scale after the refusals", `^Replicas: +3$`, `^Autoscale: +off`)
}

// waitCLIReady waits until deployment name has n replicas ready.
func waitCLIReady(t *testing.T, u *cliUser, name string, n float64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		d := jsonOf(t, u.ok("status", name, "--json"))["deployment"].(map[string]any)
		if d["readyReplicas"] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %v replicas ready after a minute, want %v", name, d["readyReplicas"], n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
