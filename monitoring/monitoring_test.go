package monitoring_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	"go.yaml.in/yaml/v3"
)

// These tests run from monitoring/ (go test sets the working directory to
// the package directory), so the kit's files are at relative paths.

var lookPath = exec.LookPath

// requireTool returns the path of a binary from the Debian package
// prometheus. Without it the test is skipped, or fails when CI=true: CI
// must run these tests.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := lookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found in PATH (Debian: apt-get install prometheus)", name)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skipf("skipping: %s", msg)
	return ""
}

// runCmd runs a command to completion (at most a minute) and returns its
// combined output.
func runCmd(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// TestPromtool runs promtool's checks on the shipped files: the config
// (which also loads alerts.yml), the rules, and the rules' unit tests.
func TestPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"check config", []string{"check", "config", configPath}},
		{"check rules", []string{"check", "rules", alertsPath}},
		{"test rules", []string{"test", "rules", alertsTest}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := runCmd(t, promtool, c.args...)
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			t.Logf("promtool %s:\n%s", strings.Join(c.args, " "), out)
		})
	}
}

// promConfig is the part of prometheus.yml the tests look at.
type promConfig struct {
	RuleFiles     []string `yaml:"rule_files"`
	ScrapeConfigs []struct {
		JobName       string `yaml:"job_name"`
		MetricsPath   string `yaml:"metrics_path"`
		Scheme        string `yaml:"scheme"`
		StaticConfigs []struct {
			Targets []string `yaml:"targets"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// TestConfigScrapesMakeRun checks that prometheus.yml, unedited, scrapes
// the server `make run` starts: the default listen port, path /metrics,
// and that it loads alerts.yml.
func TestConfigScrapesMakeRun(t *testing.T) {
	def, err := config.Parse(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(def.Addr)
	if err != nil {
		t.Fatalf("default addr %q: %v", def.Addr, err)
	}
	raw, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg promConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.RuleFiles, "alerts.yml") {
		t.Errorf("rule_files = %q, want alerts.yml", cfg.RuleFiles)
	}
	found := false
	for _, sc := range cfg.ScrapeConfigs {
		if sc.JobName != "coderunner" {
			continue
		}
		found = true
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("coderunner job metrics_path = %q, want /metrics", sc.MetricsPath)
		}
		if sc.Scheme != "" && sc.Scheme != "http" {
			t.Errorf("coderunner job scheme = %q, want http", sc.Scheme)
		}
		var targets []string
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
		if !slices.Contains(targets, "localhost:"+port) {
			t.Errorf("coderunner job targets = %q, want localhost:%s (make run's default address %q)", targets, port, def.Addr)
		}
	}
	if !found {
		t.Errorf("prometheus.yml has no job_name: coderunner (the alerts select up{job=\"coderunner\"})")
	}
}

// ---------------------------------------------------------------------------
// Live server helpers

func withToken[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+token)
	return req
}

// signIn registers and logs in a fresh user (two RPCs) and returns the
// session token.
func signIn(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	auth := coderunnerv1connect.NewAuthServiceClient(testenv.HTTP1Client(), srv.URL)
	ctx := context.Background()
	email := fmt.Sprintf("monitoring-%d@example.com", time.Now().UnixNano())
	const password = "correct horse battery"
	if _, err := auth.Register(ctx, connect.NewRequest(&coderunnerv1.RegisterRequest{Email: email, Password: password})); err != nil {
		t.Fatalf("Register: %v", err)
	}
	res, err := auth.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: password}))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return res.Msg.GetToken()
}

func hostPort(t *testing.T, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// ---------------------------------------------------------------------------
// A real Prometheus

type prometheus struct {
	URL    string // http://127.0.0.1:port
	Logs   *testenv.SyncBuffer
	client *http.Client
}

// derivedConfig is the shipped prometheus.yml with the coderunner job
// pointed at target, its own job at self, 1 s intervals, and rule files
// made absolute (the config is written elsewhere). A non-empty token
// uncomments the config's authorization example and puts token in it.
func derivedConfig(t *testing.T, target, self, token string) []byte {
	t.Helper()
	raw, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		raw = uncommentAuthorization(t, raw)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	global, _ := cfg["global"].(map[string]any)
	if global == nil {
		global = map[string]any{}
		cfg["global"] = global
	}
	global["scrape_interval"] = "1s"
	global["scrape_timeout"] = "1s"
	global["evaluation_interval"] = "1s"
	var rules []any
	for _, f := range cfg["rule_files"].([]any) {
		abs, err := filepath.Abs(f.(string))
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, abs)
	}
	cfg["rule_files"] = rules
	var jobs []any
	found := false
	for _, j := range cfg["scrape_configs"].([]any) {
		job := j.(map[string]any)
		delete(job, "scrape_interval")
		delete(job, "scrape_timeout")
		switch job["job_name"] {
		case "coderunner":
			found = true
			job["static_configs"] = []any{map[string]any{"targets": []any{target}}}
			if token != "" {
				auth, ok := job["authorization"].(map[string]any)
				if !ok || auth["type"] != "Bearer" {
					t.Fatalf("uncommented authorization example = %#v, want type Bearer", job["authorization"])
				}
				auth["credentials"] = token
			}
		case "prometheus":
			job["static_configs"] = []any{map[string]any{"targets": []any{self}}}
		default:
			continue
		}
		jobs = append(jobs, job)
	}
	if !found {
		t.Fatal("prometheus.yml has no coderunner job")
	}
	cfg["scrape_configs"] = jobs
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// uncommentAuthorization turns the commented-out "# authorization:" block
// of prometheus.yml into configuration, as a user would.
func uncommentAuthorization(t *testing.T, raw []byte) []byte {
	t.Helper()
	lines := strings.Split(string(raw), "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == "# authorization:" {
			if start >= 0 {
				t.Fatal("prometheus.yml has two commented authorization blocks")
			}
			start = i
		}
	}
	if start < 0 {
		t.Fatal("prometheus.yml has no commented-out authorization example for CODERUNNER_METRICS_TOKEN")
	}
	indent := lines[start][:strings.Index(lines[start], "#")]
	lines[start] = indent + "authorization:"
	for i := start + 1; i < len(lines) && strings.HasPrefix(lines[i], indent+"#   "); i++ {
		lines[i] = indent + strings.TrimPrefix(lines[i], indent+"# ")
	}
	return []byte(strings.Join(lines, "\n"))
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startPrometheus runs the prometheus binary on a free loopback port with
// temporary storage, scraping target, and stops it when the test ends.
func startPrometheus(t *testing.T, bin, target, token string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	logs := &testenv.SyncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	client := &http.Client{Timeout: 10 * time.Second}
	for attempt := 1; ; attempt++ {
		addr := freeAddr(t)
		cfgFile := filepath.Join(dir, fmt.Sprintf("prometheus-%d.yml", attempt))
		if err := os.WriteFile(cfgFile, derivedConfig(t, target, addr, token), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin,
			"--config.file="+cfgFile,
			"--storage.tsdb.path="+filepath.Join(dir, fmt.Sprintf("data-%d", attempt)),
			"--web.listen-address="+addr,
		)
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatalf("start prometheus: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			select {
			case <-exited:
				return
			default:
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
		p := &prometheus{URL: "http://" + addr, Logs: logs, client: client}
		deadline := time.Now().Add(30 * time.Second)
		for {
			res, err := client.Get(p.URL + "/-/ready")
			if err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return p
				}
			}
			select {
			case <-exited:
				if strings.Contains(logs.String(), "address already in use") && attempt < 3 {
					t.Logf("prometheus lost the race for %s, retrying on another port", addr)
				} else {
					t.Fatalf("prometheus exited before it was ready:\n%s", logs.String())
				}
			case <-time.After(100 * time.Millisecond):
				if time.Now().After(deadline) {
					t.Fatalf("prometheus not ready at %s after 30s", p.URL)
				}
				continue
			}
			break // retry with a new port
		}
	}
}

// apiResponse is the envelope of Prometheus' HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Data      json.RawMessage `json:"data"`
}

func (p *prometheus) api(path string, params url.Values) (json.RawMessage, error) {
	res, err := p.client.Get(p.URL + path + "?" + params.Encode())
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, not JSON: %.200s", path, res.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  float64
}

// query runs an instant query and returns its vector.
func (p *prometheus) query(q string) ([]sample, error) {
	data, err := p.api("/api/v1/query", url.Values{"query": {q}})
	if err != nil {
		return nil, err
	}
	var v struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	var out []sample
	for _, r := range v.Result {
		s, _ := r.Value[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("value %v: %v", r.Value, err)
		}
		out = append(out, sample{r.Metric, f})
	}
	return out, nil
}

// waitQuery polls q until ok accepts its result.
func (p *prometheus) waitQuery(t *testing.T, q string, timeout time.Duration, ok func([]sample) bool) []sample {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got, err := p.query(q)
		if err == nil && ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("query %s after %s: %v, err %v", q, timeout, got, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dashboardQuery fills in the Grafana variables of a dashboard expression
// so Prometheus can run it.
func dashboardQuery(expr string) string {
	return strings.NewReplacer(
		"$__rate_interval", "1m", "${__rate_interval}", "1m",
		"$__interval", "15s", "$__range", "1h",
		"$deployment_id", ".+", "${deployment_id}", ".+",
		"$instance", ".+", "${instance}", ".+",
	).Replace(expr)
}

// TestPrometheusScrapesLiveServer runs the real Prometheus (Debian package)
// with the shipped config, pointed at a live server, and reads a CodeRunner
// metric back through Prometheus' HTTP API. It also checks that Prometheus
// loads and evaluates every alert rule, and accepts every dashboard query.
func TestPrometheusScrapesLiveServer(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "prometheus")
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	signIn(t, srv) // two RPCs, so coderunner_rpc_handled_total has series
	target := hostPort(t, srv.URL)
	p := startPrometheus(t, bin, target, "")

	got := p.waitQuery(t, `coderunner_rpc_handled_total{job="coderunner"}`, 30*time.Second, func(s []sample) bool {
		total := 0.0
		for _, x := range s {
			total += x.Value
		}
		return total >= 2
	})
	t.Logf("coderunner_rpc_handled_total through Prometheus: %v", got)
	for _, x := range got {
		if x.Metric["instance"] != target || x.Metric["procedure"] == "" || x.Metric["code"] == "" {
			t.Errorf("unexpected series %v", x.Metric)
		}
	}
	p.waitQuery(t, `up{job="coderunner"}`, 10*time.Second, func(s []sample) bool {
		return len(s) == 1 && s[0].Value == 1 && s[0].Metric["instance"] == target
	})

	// The target, as Prometheus sees it.
	data, err := p.api("/api/v1/targets", url.Values{"state": {"active"}})
	if err != nil {
		t.Fatal(err)
	}
	var targets struct {
		ActiveTargets []struct {
			Labels    map[string]string `json:"labels"`
			ScrapeURL string            `json:"scrapeUrl"`
			Health    string            `json:"health"`
			LastError string            `json:"lastError"`
		} `json:"activeTargets"`
	}
	if err := json.Unmarshal(data, &targets); err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, tg := range targets.ActiveTargets {
		if tg.Labels["job"] != "coderunner" {
			continue
		}
		seen = true
		if tg.ScrapeURL != srv.URL+"/metrics" || tg.Health != "up" {
			t.Errorf("coderunner target: %s health %s %s", tg.ScrapeURL, tg.Health, tg.LastError)
		}
	}
	if !seen {
		t.Errorf("no active coderunner target: %s", data)
	}

	// Every rule of alerts.yml is loaded and evaluates without error.
	want := map[string]bool{}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			want[g.Name+"/"+r.Alert+r.Record] = true
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := p.api("/api/v1/rules", nil)
		if err != nil {
			t.Fatal(err)
		}
		var rules struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := json.Unmarshal(data, &rules); err != nil {
			t.Fatal(err)
		}
		loaded, evaluated := map[string]bool{}, true
		for _, g := range rules.Groups {
			for _, r := range g.Rules {
				loaded[g.Name+"/"+r.Name] = true
				switch r.Health {
				case "err":
					t.Fatalf("rule %s/%s fails to evaluate: %s", g.Name, r.Name, r.LastError)
				case "ok":
				default:
					evaluated = false
				}
			}
		}
		if len(loaded) != len(want) {
			t.Fatalf("Prometheus loaded rules %v, alerts.yml has %v", loaded, want)
		}
		for k := range want {
			if !loaded[k] {
				t.Fatalf("rule %s not loaded; loaded: %v", k, loaded)
			}
		}
		if evaluated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rules not all evaluated after 20s: %s", data)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Prometheus parses and runs every dashboard query.
	for _, ref := range dashboardExprs(t) {
		if ref.expr == "" {
			continue
		}
		if _, err := p.query(dashboardQuery(ref.expr)); err != nil {
			t.Errorf("%s: Prometheus rejects %q: %v", ref.where, ref.expr, err)
		}
	}
}

// ---------------------------------------------------------------------------
// /metrics of a live server

// exposition is what one /metrics response holds.
type exposition struct {
	families map[string]string // # TYPE name type
	samples  map[string]bool   // sample names (with _bucket etc.)
	series   []string          // raw sample lines
}

func parseExposition(r io.Reader) (exposition, error) {
	e := exposition{families: map[string]string{}, samples: map[string]bool{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "#") {
			if f := strings.Fields(line); len(f) >= 4 && f[1] == "TYPE" {
				e.families[f[2]] = f[3]
			}
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		e.samples[name] = true
		e.series = append(e.series, line)
	}
	return e, sc.Err()
}

// has reports whether name (a family, or a histogram/summary sample name)
// has at least one series.
func (e exposition) has(name string) bool {
	if e.samples[name] || e.families[name] != "" {
		return true
	}
	switch e.families[familyName(name)] {
	case "histogram", "summary":
		return true
	}
	return false
}

func scrape(t *testing.T, srv *testenv.Server) exposition {
	t.Helper()
	res, err := testenv.HTTP1Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET /metrics = %d: %.300s", res.StatusCode, body)
	}
	e, err := parseExposition(res.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	return e
}

// appGet sends a request to a deployment's URL through the server's
// router (http://<slug>.localhost:<port>/), whatever the name resolves to.
func appGet(t *testing.T, srv *testenv.Server, appURL, path string) int {
	t.Helper()
	addr := hostPort(t, srv.URL)
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}},
	}
	u, err := url.Parse(appURL)
	if err != nil || appURL == "" {
		t.Fatalf("deployment URL %q: %v", appURL, err)
	}
	res, err := client.Get(u.Scheme + "://" + u.Host + path)
	if err != nil {
		t.Fatalf("GET %s%s: %v", appURL, path, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func readExample(t *testing.T, name string) []*coderunnerv1.SourceFile {
	return testenv.SourceFiles(t, filepath.Join("..", "examples", name))
}

// TestReferencedMetricsExistOnLiveServer deploys examples/node-hello on a
// live server, sends requests through the router and opens a stream, then
// checks that every metric name the dashboard and alerts.yml use appears in
// the server's /metrics.
func TestReferencedMetricsExistOnLiveServer(t *testing.T) {
	t.Parallel()
	refs := referencedMetrics(t)
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	token := signIn(t, srv)
	deployments := coderunnerv1connect.NewDeploymentServiceClient(testenv.HTTP1Client(), srv.URL)
	ctx := context.Background()

	created, err := deployments.CreateDeployment(ctx, withToken(&coderunnerv1.CreateDeploymentRequest{
		Name: "metrics", Files: readExample(t, "node-hello"),
	}, token))
	if err != nil {
		t.Fatalf("CreateDeployment: %v", err)
	}
	id := created.Msg.GetDeployment().GetId()

	// A streaming RPC, so coderunner_rpc_open_streams has a series.
	func() {
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		stream, err := deployments.WatchDeployment(sctx, withToken(&coderunnerv1.WatchDeploymentRequest{Id: id}, token))
		if err != nil {
			t.Fatalf("WatchDeployment: %v", err)
		}
		if !stream.Receive() {
			t.Fatalf("WatchDeployment sent nothing: %v", stream.Err())
		}
		_ = stream.Close()
	}()

	var d *coderunnerv1.Deployment
	deadline := time.Now().Add(90 * time.Second)
	for {
		res, err := deployments.GetDeployment(ctx, withToken(&coderunnerv1.GetDeploymentRequest{Id: id}, token))
		if err != nil {
			t.Fatalf("GetDeployment: %v", err)
		}
		d = res.Msg.GetDeployment()
		if d.GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING {
			break
		}
		if d.GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED {
			t.Fatalf("deployment failed: %s", d.GetStatusReason())
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment is %v (%s) after 90s, want RUNNING", d.GetStatus(), d.GetStatusReason())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, path := range []string{"/", "/health", "/hello"} {
		if code := appGet(t, srv, d.GetUrl(), path); code != http.StatusOK {
			t.Errorf("GET %s through the router = %d", path, code)
		}
	}

	// Per-deployment series come from a sampler that runs every 5 s: poll.
	var missing []string
	var last exposition
	deadline = time.Now().Add(20 * time.Second)
	for {
		last = scrape(t, srv)
		missing = missing[:0]
		for name := range refs {
			if !prometheusSynthetic[name] && !last.has(name) {
				missing = append(missing, name)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("checked %d metric names used by the dashboard and alerts.yml against /metrics", len(refs))
	if len(missing) > 0 {
		sort.Strings(missing)
		var b strings.Builder
		for _, name := range missing {
			fmt.Fprintf(&b, "\n  %s (used by %s)", name, strings.Join(refs[name], "; "))
		}
		var exported []string
		for fam := range last.families {
			if strings.HasPrefix(fam, "coderunner_") || strings.HasPrefix(fam, "go_sql_") {
				exported = append(exported, fam)
			}
		}
		sort.Strings(exported)
		t.Errorf("%d metric names used by the dashboard/alerts are missing from a live server's /metrics (deployment %s running, requests sent):%s\nthe server exports: %s",
			len(missing), id, b.String(), strings.Join(exported, ", "))
		return
	}

	// The per-deployment series are this deployment's.
	for _, fam := range []string{"coderunner_deployment_memory_bytes", "coderunner_router_requests_total"} {
		ok := false
		for _, line := range last.series {
			if strings.HasPrefix(line, fam+"{") && strings.Contains(line, `deployment_id="`+id+`"`) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("no %s series with deployment_id=%q", fam, id)
		}
	}
}

// TestPrometheusScrapesWithToken follows prometheus.yml's instructions for a
// server with CODERUNNER_METRICS_TOKEN: uncomment the authorization block
// and put the token in it. Prometheus must then scrape the server.
func TestPrometheusScrapesWithToken(t *testing.T) {
	t.Parallel()
	bin := requireTool(t, "prometheus")
	const token = "monitoring-scrape-secret"
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.MetricsToken = token }})
	res, err := testenv.HTTP1Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /metrics without the token = %d, want 401", res.StatusCode)
	}
	target := hostPort(t, srv.URL)
	p := startPrometheus(t, bin, target, token)
	p.waitQuery(t, `up{job="coderunner"}`, 30*time.Second, func(s []sample) bool {
		return len(s) == 1 && s[0].Value == 1 && s[0].Metric["instance"] == target
	})
	p.waitQuery(t, `coderunner_ready{job="coderunner"}`, 10*time.Second, func(s []sample) bool { return len(s) == 1 })
}
