package monitoring_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// This file reads the kit's files and pulls the metric names out of their
// PromQL: the dashboard's targets and template variables, and alerts.yml's
// rules. It needs no Prometheus and no server.

// exprRef is one PromQL expression and where it comes from, for messages.
type exprRef struct {
	where string // e.g. `dashboard panel "Latency"` or `alert CodeRunnerDown`
	expr  string
}

const (
	dashboardPath = "grafana/dashboards/coderunner.json"
	alertsPath    = "alerts.yml"
	configPath    = "prometheus.yml"
	alertsTest    = "alerts_test.yml"
)

// dashboard is the part of the Grafana dashboard model the tests look at.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	GridPos    struct {
		X, Y, W, H int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string          `json:"expr"`
		RefID      string          `json:"refId"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's panels
}

type templateVar struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"` // a string, or {"query": "..."}
	Definition string          `json:"definition"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
}

// queryString returns a template variable's query, whichever form it has.
func (v templateVar) queryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var obj struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &obj) == nil && obj.Query != "" {
		return obj.Query
	}
	return v.Definition
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s is not valid dashboard JSON: %v", dashboardPath, err)
	}
	return d
}

// allPanels flattens rows (collapsed rows keep their panels inside).
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// dashboardExprs returns every PromQL expression of the dashboard: panel
// targets and query variables (label_values(metric, label) counts as
// metric).
func dashboardExprs(t *testing.T) []exprRef {
	t.Helper()
	d := loadDashboard(t)
	var refs []exprRef
	for _, p := range allPanels(d.Panels) {
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) != "" {
				refs = append(refs, exprRef{fmt.Sprintf("dashboard panel %q (%s)", p.Title, tg.RefID), tg.Expr})
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		refs = append(refs, exprRef{fmt.Sprintf("dashboard variable $%s", v.Name), templateQueryExpr(v.queryString())})
	}
	return refs
}

var labelValuesRe = regexp.MustCompile(`^\s*label_values\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// templateQueryExpr turns a Grafana Prometheus variable query into the
// PromQL it selects from: label_values(m{...}, l) is m{...};
// label_values(l) selects no metric; query_result(e) is e.
func templateQueryExpr(q string) string {
	if m := labelValuesRe.FindStringSubmatch(q); m != nil {
		return m[1]
	}
	if strings.HasPrefix(strings.TrimSpace(q), "label_values(") {
		return "" // label_values(label): every series, no metric name
	}
	for _, fn := range []string{"query_result(", "metrics("} {
		if s := strings.TrimSpace(q); strings.HasPrefix(s, fn) && strings.HasSuffix(s, ")") {
			if fn == "metrics(" {
				return ""
			}
			return s[len(fn) : len(s)-1]
		}
	}
	return q
}

// rulesFile is the shape of a Prometheus rule file.
type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) rulesFile {
	t.Helper()
	raw, err := os.ReadFile(alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	var rf rulesFile
	if err := yaml.Unmarshal(raw, &rf); err != nil {
		t.Fatalf("%s: %v", alertsPath, err)
	}
	return rf
}

func alertExprs(t *testing.T) []exprRef {
	t.Helper()
	var refs []exprRef
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if name == "" {
				name = "record " + r.Record
			}
			refs = append(refs, exprRef{"alert " + name, r.Expr})
		}
	}
	return refs
}

var (
	grafanaVarRe = regexp.MustCompile(`\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)
	stringRe     = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	matchersRe   = regexp.MustCompile(`\{[^}]*\}`)
	rangeRe      = regexp.MustCompile(`\[[^\]]*\]`)
	groupingRe   = regexp.MustCompile(`(?i)\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	commentRe    = regexp.MustCompile(`#[^\n]*`)
	tokenRe      = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*|[0-9][A-Za-z0-9_.]*`)
)

// promqlKeywords are identifiers that are never metric names.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "by": true, "without": true,
	"on": true, "ignoring": true, "group_left": true, "group_right": true,
	"bool": true, "offset": true, "atan2": true, "inf": true, "nan": true,
}

// metricNames returns the metric names an expression selects, sorted and
// without duplicates: identifiers that are not functions or aggregations
// (followed by "("), keywords, label names (inside {...} or by/on/...
// lists), strings, durations or numbers. Grafana variables ($x, ${x}) are
// removed first.
func metricNames(expr string) []string {
	s := stringRe.ReplaceAllString(expr, `""`)
	s = commentRe.ReplaceAllString(s, " ")
	s = grafanaVarRe.ReplaceAllString(s, " ")
	s = matchersRe.ReplaceAllString(s, " ")
	s = rangeRe.ReplaceAllString(s, " ")
	s = groupingRe.ReplaceAllString(s, " ")
	seen := map[string]bool{}
	for _, loc := range tokenRe.FindAllStringIndex(s, -1) {
		tok := s[loc[0]:loc[1]]
		if tok[0] >= '0' && tok[0] <= '9' {
			continue
		}
		if promqlKeywords[strings.ToLower(tok)] {
			continue
		}
		if rest := strings.TrimLeft(s[loc[1]:], " \t\r\n"); strings.HasPrefix(rest, "(") {
			continue // function or aggregation
		}
		seen[tok] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// referencedMetrics maps each metric name the dashboard and the alerts use
// to the places that use it.
func referencedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, ref := range append(dashboardExprs(t), alertExprs(t)...) {
		names := metricNames(ref.expr)
		if len(names) == 0 && !strings.Contains(ref.where, "variable") {
			t.Errorf("%s: no metric name found in %q", ref.where, ref.expr)
		}
		for _, n := range names {
			if !slices.Contains(out[n], ref.where) {
				out[n] = append(out[n], ref.where)
			}
		}
	}
	return out
}

// prometheusSynthetic are series Prometheus itself makes for each target or
// rule; a server's /metrics never has them.
var prometheusSynthetic = map[string]bool{
	"up": true, "scrape_duration_seconds": true, "scrape_samples_scraped": true,
	"scrape_samples_post_metric_relabeling": true, "scrape_series_added": true,
	"ALERTS": true, "ALERTS_FOR_STATE": true,
}

// familyName strips the sample suffix of a histogram or summary series.
func familyName(name string) string {
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if strings.HasSuffix(name, suf) {
			return strings.TrimSuffix(name, suf)
		}
	}
	return name
}

func TestMetricNameExtraction(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`up{job="coderunner"} == 0`, []string{"up"}},
		{`increase(coderunner_deployment_restarts_total[10m]) >= 3`, []string{"coderunner_deployment_restarts_total"}},
		{`histogram_quantile(0.95, sum by (deployment_id, le) (rate(coderunner_router_request_duration_seconds_bucket{deployment_id=~"$deployment_id"}[$__rate_interval])))`,
			[]string{"coderunner_router_request_duration_seconds_bucket"}},
		{`sum(rate(a_total{code="5xx"}[5m])) by (deployment_id) / ignoring(code) group_left(x) sum without (replica) (b) and on (instance) c offset 5m`,
			[]string{"a_total", "b", "c"}},
		{`max by (instance, deployment_id) (mem / (limit > 0)) > 0.9 unless bool 1e3`, []string{"limit", "mem"}},
		{`label_replace(x, "dst", "$1", "src", "(.*)") # comment with fake_metric`, []string{"x"}},
		{`time() - min(process_start_time_seconds{job="coderunner", instance=~"${instance}"})`, []string{"process_start_time_seconds"}},
		{`topk(5, sum by (le) (rate(m_bucket[1h:5m])))`, []string{"m_bucket"}},
		{`vector(1)`, nil},
	} {
		got := metricNames(c.expr)
		if !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
	for q, want := range map[string]string{
		"label_values(coderunner_deployment_memory_bytes, deployment_id)": "coderunner_deployment_memory_bytes",
		`label_values(coderunner_ready{job="coderunner"}, instance)`:      `coderunner_ready{job="coderunner"}`,
		"label_values(instance)":                                    "",
		"query_result(topk(5, coderunner_deployment_memory_bytes))": "topk(5, coderunner_deployment_memory_bytes)",
	} {
		if got := templateQueryExpr(q); got != want {
			t.Errorf("templateQueryExpr(%q) = %q, want %q", q, got, want)
		}
	}
}

// contractMetrics are the metric families the server promises (issue #6);
// the dashboard and alerts may use only these among coderunner_* and
// go_sql_* names. TestReferencedMetricsExistOnLiveServer checks them all
// against a real /metrics, this list only catches typos early.
var contractMetrics = map[string]string{
	"coderunner_deployment_cpu_seconds_total":    "counter",
	"coderunner_deployment_cpu_limit_cores":      "gauge",
	"coderunner_deployment_memory_bytes":         "gauge",
	"coderunner_deployment_memory_limit_bytes":   "gauge",
	"coderunner_deployment_restarts_total":       "counter",
	"coderunner_deployment_oom_kills_total":      "counter",
	"coderunner_deployment_uptime_seconds":       "gauge",
	"coderunner_deployment_replicas":             "gauge",
	"coderunner_deployment_desired_replicas":     "gauge",
	"coderunner_cold_starts_total":               "counter",
	"coderunner_cold_start_seconds":              "histogram",
	"coderunner_prepared_sandboxes":              "gauge",
	"coderunner_router_requests_total":           "counter",
	"coderunner_router_requests_in_flight":       "gauge",
	"coderunner_router_request_duration_seconds": "histogram",
	"coderunner_router_request_bytes_total":      "counter",
	"coderunner_router_response_bytes_total":     "counter",
	"coderunner_rpc_handled_total":               "counter",
	"coderunner_rpc_duration_seconds":            "histogram",
	"coderunner_rpc_open_streams":                "gauge",
	"coderunner_deployments":                     "gauge",
	"coderunner_build_duration_seconds":          "histogram",
	"coderunner_deploy_ready_duration_seconds":   "histogram",
	"coderunner_log_lines_ingested_total":        "counter",
	"coderunner_log_lines_dropped_total":         "counter",
	"coderunner_ready":                           "gauge",
	"go_sql_max_open_connections":                "gauge",
	"go_sql_open_connections":                    "gauge",
	"go_sql_in_use_connections":                  "gauge",
	"go_sql_idle_connections":                    "gauge",
	"go_sql_wait_count_total":                    "counter",
	"go_sql_wait_duration_seconds_total":         "counter",
	"go_sql_max_idle_closed_total":               "counter",
	"go_sql_max_idle_time_closed_total":          "counter",
	"go_sql_max_lifetime_closed_total":           "counter",
}

// TestReferencedMetricsAreInContract checks, without a server, that every
// coderunner_* and go_sql_* name in the dashboard and alerts is one the
// server promises, used the way its type allows (histograms through
// _bucket/_sum/_count, counters through rate/increase).
func TestReferencedMetricsAreInContract(t *testing.T) {
	refs := referencedMetrics(t)
	for name, where := range refs {
		if !strings.HasPrefix(name, "coderunner_") && !strings.HasPrefix(name, "go_sql_") {
			continue
		}
		fam := familyName(name)
		typ, ok := contractMetrics[name]
		if !ok {
			typ, ok = contractMetrics[fam]
			if ok && typ != "histogram" {
				ok = false
			}
		}
		if !ok {
			t.Errorf("%s is not a metric the server exports; used by %s", name, strings.Join(where, ", "))
			continue
		}
		if typ == "histogram" && name == fam {
			t.Errorf("histogram %s used without _bucket/_sum/_count by %s", name, strings.Join(where, ", "))
		}
	}
	// Everything the issue asks the kit to show is shown somewhere.
	for fam := range contractMetrics {
		if strings.HasPrefix(fam, "go_sql_max_") && fam != "go_sql_max_open_connections" {
			continue // pool closing reasons: not worth a panel
		}
		used := false
		for name := range refs {
			if name == fam || familyName(name) == fam {
				used = true
			}
		}
		if !used {
			t.Errorf("%s is not used by the dashboard or the alerts", fam)
		}
	}
	// Counters only make sense through rate/increase.
	for _, ref := range append(dashboardExprs(t), alertExprs(t)...) {
		for _, name := range metricNames(ref.expr) {
			if typ := contractMetrics[name]; typ == "counter" || strings.HasSuffix(name, "_bucket") {
				re := regexp.MustCompile(`(rate|increase|irate)\(\s*` + regexp.QuoteMeta(name) + `\b`)
				if !re.MatchString(ref.expr) {
					t.Errorf("%s: counter %s used without rate()/increase(): %s", ref.where, name, ref.expr)
				}
			}
		}
	}
}

// TestDashboard checks the dashboard's structure: what Grafana needs to
// import it, the deployment variable, and a data source on every query.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q title %q: both are needed for provisioning and links", d.UID, d.Title)
	}
	ids := map[int]string{}
	rows := 0
	for _, p := range allPanels(d.Panels) {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panel id %d used by %q and %q", p.ID, prev, p.Title)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit a 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			rows++
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no queries", p.Title)
		}
		for _, tg := range p.Targets {
			if !strings.Contains(string(p.Datasource)+string(tg.Datasource), "${datasource}") {
				t.Errorf("panel %q target %s does not use the $datasource variable", p.Title, tg.RefID)
			}
		}
	}
	if rows < 2 {
		t.Errorf("want a platform row and a per-deployment row, found %d rows", rows)
	}
	vars := map[string]templateVar{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	dep, ok := vars["deployment_id"]
	if !ok {
		t.Fatalf("no deployment_id template variable")
	}
	if q := dep.queryString(); !strings.Contains(q, "label_values(coderunner_deployment_memory_bytes") || !strings.HasSuffix(strings.TrimSpace(q), "deployment_id)") {
		t.Errorf("deployment_id variable query = %q", q)
	}
	if _, ok := vars["datasource"]; !ok {
		t.Errorf("no datasource variable")
	}
	// The per-deployment panels filter on the variable.
	filtered := 0
	for _, ref := range dashboardExprs(t) {
		if strings.Contains(ref.expr, `deployment_id=~"$deployment_id"`) {
			filtered++
		}
	}
	if filtered < 10 {
		t.Errorf("only %d queries filter on $deployment_id", filtered)
	}
}

// TestProvisioningAndCompose checks that the files refer to each other
// correctly: compose mounts files that exist, the dashboard provider reads
// the directory compose mounts the dashboards into, and the start script
// parses.
func TestProvisioningAndCompose(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.monitoring.yml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string   `yaml:"image"`
			NetworkMode string   `yaml:"network_mode"`
			Volumes     []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.monitoring.yml: %v", err)
	}
	for _, svc := range []string{"prometheus", "grafana"} {
		if _, ok := compose.Services[svc]; !ok {
			t.Errorf("compose has no %s service", svc)
		}
	}
	mounts := map[string]string{} // container path -> host path
	for name, svc := range compose.Services {
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
				continue // named volume
			}
			if _, err := os.Stat(parts[0]); err != nil {
				t.Errorf("service %s mounts %s, which does not exist", name, parts[0])
			}
			mounts[parts[1]] = parts[0]
		}
	}
	if mounts["/etc/prometheus/prometheus.yml"] != "./prometheus.yml" || mounts["/etc/prometheus/alerts.yml"] != "./alerts.yml" {
		t.Errorf("prometheus must get prometheus.yml and alerts.yml side by side in /etc/prometheus; mounts = %v", mounts)
	}

	raw, err = os.ReadFile("grafana/provisioning/dashboards/coderunner.yml")
	if err != nil {
		t.Fatal(err)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(raw, &prov); err != nil || len(prov.Providers) == 0 {
		t.Fatalf("dashboard provisioning: %v %+v", err, prov)
	}
	if host := mounts[prov.Providers[0].Options.Path]; filepath.Clean(host) != "grafana/dashboards" {
		t.Errorf("dashboard provider reads %s, which compose maps to %q, not ./grafana/dashboards", prov.Providers[0].Options.Path, host)
	}
	if mounts["/etc/grafana/provisioning"] != "./grafana/provisioning" {
		t.Errorf("grafana provisioning not mounted at /etc/grafana/provisioning: %v", mounts)
	}

	raw, err = os.ReadFile("grafana/provisioning/datasources/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &ds); err != nil || len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" {
		t.Errorf("datasource provisioning: %v %+v", err, ds)
	}

	info, err := os.Stat("scripts/start-monitoring.sh")
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&0o111 == 0 {
		t.Errorf("scripts/start-monitoring.sh is not executable (%v)", info.Mode())
	}
	if bash, err := lookPath("bash"); err == nil {
		if out, err := runCmd(t, bash, "-n", "scripts/start-monitoring.sh"); err != nil {
			t.Errorf("bash -n scripts/start-monitoring.sh: %v\n%s", err, out)
		}
	}
}
