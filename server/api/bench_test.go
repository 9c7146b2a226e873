package api_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/app"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/valyala/fasthttp"
)

// The benchmarks report medians (ms-median) next to Go's mean, because the
// targets are medians. Run them with `make bench`.

func median(samples []time.Duration) float64 {
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	return float64(samples[len(samples)/2]) / float64(time.Millisecond)
}

// useServeGC sets the collector as `coderunner serve` does (app.TuneGC):
// in these benchmarks the router runs in the test process.
func useServeGC(b *testing.B) {
	before := debug.SetGCPercent(-1)
	debug.SetGCPercent(before)
	app.TuneGC(os.Getenv)
	b.Cleanup(func() { debug.SetGCPercent(before) })
}

// pollUntil200 requests url through client until it answers 200.
func pollUntil200(b *testing.B, client *http.Client, u string, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		res, err := client.Get(u)
		if err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s did not answer 200 within %s (last: %v)", u, timeout, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkBareNodeFirstRequest is the baseline: `node server.js` started
// directly, until it answers its first request.
func BenchmarkBareNodeFirstRequest(b *testing.B) {
	dir := exampleDir("node-hello")
	var samples []time.Duration
	for i := 0; i < b.N; i++ {
		samples = append(samples, bareNodeStart(b, dir))
	}
	b.ReportMetric(median(samples), "ms-median")
}

func exampleDir(name string) string {
	dir, _ := filepath.Abs(filepath.Join("..", "..", "examples", name))
	return dir
}

// bareNodeStart runs `node server.js` in dir on the host and returns how
// long it took from the exec to the first 200, then kills it.
func bareNodeStart(b *testing.B, dir string) time.Duration {
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	u, stop := runNode(b, dir)
	pollUntil200(b, client, u, 10*time.Second)
	took := time.Since(start)
	stop()
	return took
}

// runNode starts `node server.js` in dir on a free loopback port and
// returns its URL and how to stop it.
func runNode(b *testing.B, dir string) (u string, stop func()) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command("node", "server.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port), "HOST=127.0.0.1")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/", port), func() { cmd.Process.Kill(); cmd.Wait() }
}

// startBareNode runs examples/node-hello on the host and returns its URL.
func startBareNode(b *testing.B) string {
	u, stop := runNode(b, exampleDir("node-hello"))
	b.Cleanup(stop)
	pollUntil200(b, &http.Client{}, u, 10*time.Second)
	return u
}

// benchmarkFirstRequest measures CreateDeployment returning → the first
// 200 from path on the deployment's URL, for examples/<name>.
func benchmarkFirstRequest(b *testing.B, name, path string) {
	e := newEngine(b, sqlite, testenv.Options{Configure: func(c *config.Config) { c.MaxDeploymentsPerUser = 1000 }})
	files := example(b, name)
	client := e.appClient()
	client.Transport.(*http.Transport).DisableKeepAlives = true
	var samples []time.Duration
	for i := 0; i < b.N; i++ {
		d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: fmt.Sprintf("bench-%d", i), Files: files})
		start := time.Now()
		u, _ := url.Parse(d.GetUrl())
		pollUntil200(b, client, "http://"+u.Host+path, 30*time.Second)
		samples = append(samples, time.Since(start))
		b.StopTimer()
		if _, err := e.client.DeleteDeployment(context.Background(), withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(median(samples), "ms-median")
}

// BenchmarkDeployFirstRequest: the dependency-free Node app.
func BenchmarkDeployFirstRequest(b *testing.B) { benchmarkFirstRequest(b, "node-hello", "/") }

// BenchmarkRedeployUnchangedDeps measures a redeploy of the Express app
// whose lockfile did not change: RedeployDeployment → RUNNING.
func BenchmarkRedeployUnchangedDeps(b *testing.B) {
	e, d := runExample(b, "express-app", 3*time.Minute)
	var samples []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
			b.Fatal(err)
		}
		e.waitFor(d.GetId(), statusRunning, time.Minute)
		samples = append(samples, time.Since(start))
	}
	b.ReportMetric(median(samples), "ms-median")
}

// runExample starts a server, deploys examples/<name> on it and waits up
// to timeout for it to run.
func runExample(b *testing.B, name string, timeout time.Duration) (*engine, *coderunnerv1.Deployment) {
	e := newEngine(b, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: name, Files: example(b, name)})
	return e, e.waitFor(d.GetId(), statusRunning, timeout)
}

// BenchmarkRedeployDowntime measures how long the Express app does not
// answer 200 during a redeploy that installs its dependencies again
// (package.json changed each time, so npm ci runs; see longestOutage).
// The build runs beside the old revision, so it should not count.
func BenchmarkRedeployDowntime(b *testing.B) {
	e, d := runExample(b, "express-app", 3*time.Minute)
	var downtimes, redeploys []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		files := example(b, "express-app")
		for _, f := range files {
			if f.GetPath() == "package.json" {
				f.Content = []byte(strings.Replace(string(f.Content), `"version": "1.0.0"`, fmt.Sprintf(`"version": "1.0.%d"`, i+1), 1))
			}
		}
		downtime, took := longestOutage(b, e, d, func() error {
			_, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId(), Files: files}, e.token))
			return err
		})
		downtimes, redeploys = append(downtimes, downtime), append(redeploys, took)
	}
	b.ReportMetric(median(downtimes), "ms-downtime-median")
	b.ReportMetric(median(redeploys), "ms-redeploy-median")
}

// BenchmarkRestartDowntime measures how long the Express app does not
// answer 200 during RestartDeployment (see longestOutage).
func BenchmarkRestartDowntime(b *testing.B) {
	e, d := runExample(b, "express-app", 3*time.Minute)
	var downtimes, restarts []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		downtime, took := longestOutage(b, e, d, func() error {
			_, err := e.client.RestartDeployment(context.Background(), withToken(&coderunnerv1.RestartDeploymentRequest{Id: d.GetId()}, e.token))
			return err
		})
		downtimes, restarts = append(downtimes, downtime), append(restarts, took)
	}
	b.ReportMetric(median(downtimes), "ms-downtime-median")
	b.ReportMetric(median(restarts), "ms-restart-median")
}

// longestOutage runs action on the running deployment d while a client
// GETs / every 5 ms through the router, from before the action until the
// deployment is RUNNING again and a little after. It returns the longest
// run of failed GETs (first failure to first success again) and how long
// the action took to reach RUNNING.
func longestOutage(b *testing.B, e *engine, d *coderunnerv1.Deployment, action func() error) (outage, took time.Duration) {
	u, _ := url.Parse(d.GetUrl())
	stop := e.watchAvailability("http://" + u.Host + "/")
	start := time.Now()
	if err := action(); err != nil {
		b.Fatal(err)
	}
	e.waitFor(d.GetId(), statusRunning, 2*time.Minute)
	took = time.Since(start)
	time.Sleep(100 * time.Millisecond) // the client sees the new replicas answer
	var downSince time.Time
	for _, r := range stop() {
		switch {
		case !r.ok && downSince.IsZero():
			downSince = r.at
		case r.ok && !downSince.IsZero():
			outage = max(outage, r.at.Sub(downSince))
			downSince = time.Time{}
		}
	}
	return outage, took
}

// BenchmarkRouterOverhead compares a request to the Node app through the
// platform's router (into its sandbox) with the same request to the same
// app run directly on the host; the difference is what routing costs.
func BenchmarkRouterOverhead(b *testing.B) {
	e, d := runExample(b, "node-hello", 30*time.Second)
	u, _ := url.Parse(d.GetUrl())
	routed := e.appClient()
	direct := &http.Client{}
	directURL := startBareNode(b)
	measure := func(client *http.Client, target string) float64 {
		samples := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			res, err := client.Get(target)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			samples = append(samples, time.Since(start))
		}
		return median(samples)
	}
	b.ResetTimer()
	routedMs := measure(routed, "http://"+u.Host+"/")
	directMs := measure(direct, directURL)
	b.ReportMetric(routedMs, "ms-median-routed")
	b.ReportMetric(directMs, "ms-median-direct")
	b.ReportMetric(routedMs-directMs, "ms-overhead")
}

// BenchmarkManifestFirstRequest: the blog manifest, until /api/users
// answers.
func BenchmarkManifestFirstRequest(b *testing.B) {
	benchmarkFirstRequest(b, "manifest-blog", "/api/users")
}

// blogUnderLoad deploys the blog manifest with the default limits (one
// core: at these rates the app needs less, and Go sizes GOMAXPROCS to the
// limit, which spares the shared cores a thread) and creates a user. It
// returns the engine, the app's host name and the user's path.
func blogUnderLoad(b *testing.B) (e *engine, host, path string) {
	useServeGC(b)
	e = newEngine(b, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "blog", Files: example(b, "manifest-blog")})
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	status, user := e.send(d, "POST", "/api/users", `{"username":"ada","email":"ada@example.com"}`)
	if status != 201 {
		b.Fatalf("POST = %d", status)
	}
	u, _ := url.Parse(d.GetUrl())
	return e, u.Host, "/api/users/" + user["id"].(string)
}

// warmUp is how long the load benchmarks below run before they measure.
// From a cold start the router and the app serve at about half speed for
// the first second or so (their heaps and buffers grow to the load; paired
// runs showed it whether or not the connections were already open), and a
// platform under steady traffic is past that.
const warmUp = 2 * time.Second

// BenchmarkManifestGetByID: GET /api/users/{id} through the router with 50
// concurrent clients for 3 seconds after warmUp; reports requests/s and
// latency percentiles.
func BenchmarkManifestGetByID(b *testing.B) {
	e, host, path := blogUnderLoad(b)
	target := "http://" + host + path
	client := serverClient(e)
	getUnderLoad(b, client, target, warmUp)
	measureGets(b, func() []float64 { return getUnderLoad(b, client, target, 3*time.Second) })
}

// BenchmarkManifestGetByIDPaced measures the latency at the target's load
// rather than at saturation: 50 clients, each with its own keep-alive
// connection, send GET /api/users/{id} on a fixed schedule, 100 a second
// each, 5,000 a second in all, for 5 seconds after warmUp. A request's
// latency counts from when the schedule said to send it, so a client held
// up by a slow answer is charged for the requests it sent late (no
// coordinated omission). The saturation benchmarks keep every client busy,
// so their latency is mostly the queue the 50 clients themselves make (by
// Little's law, 50 / throughput).
//
// The clients are fasthttp's, not net/http's: they share the server's 2
// cores, and fasthttp writes the request and reads the answer on the
// calling goroutine, where net/http's Transport hands each request to a
// write loop and a read loop per connection. Measured here, that left the
// machine ~6 % more idle and halved the p99 (the README gives both).
// wrk2, the usual paced load generator, is not packaged in Debian.
func BenchmarkManifestGetByIDPaced(b *testing.B) {
	e, host, path := blogUnderLoad(b)
	getUnderLoad(b, serverClient(e), "http://"+host+path, warmUp)
	hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(e.srv.URL, "http://"), MaxConns: loadClients}
	measureGets(b, func() []float64 { return getPaced(b, hc, host, path, 5000, 5*time.Second) })
}

// measureGets runs load b.N times and reports the requests per second and
// the latency percentiles over all of them.
func measureGets(b *testing.B, load func() []float64) {
	b.ResetTimer()
	var all []float64
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		all = append(all, load()...)
		elapsed += time.Since(start)
	}
	sort.Float64s(all)
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(percentile(all, 0.50), "ms-p50")
	b.ReportMetric(percentile(all, 0.99), "ms-p99")
	b.ReportMetric(all[len(all)-1], "ms-max")
}

// loadClients is the number of concurrent clients in the load benchmarks.
const loadClients = 50

// serverClient is an HTTP client whose connections all go to the test
// server, whatever the URL's host (the apps' *.localhost names), keeping a
// keep-alive connection for each concurrent client.
func serverClient(e *engine) *http.Client {
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: loadClients,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

// get200 GETs target and reads the whole answer; it reports (with
// b.Error) and returns false unless the answer was a 200.
func get200(b *testing.B, client *http.Client, target string) bool {
	res, err := client.Get(target)
	if err != nil {
		b.Error(err)
		return false
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		b.Errorf("status %d", res.StatusCode)
		return false
	}
	return true
}

// eachClient runs client(c) for c in [0, loadClients) concurrently and
// returns all the latencies they measured.
func eachClient(client func(c int) []float64) []float64 {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var all []float64
	for c := 0; c < loadClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := client(c)
			mu.Lock()
			all = append(all, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all
}

// getUnderLoad GETs target from the concurrent clients, each sending its
// next request when the last is answered, for window; it returns each
// request's latency in milliseconds.
func getUnderLoad(b *testing.B, client *http.Client, target string, window time.Duration) []float64 {
	start := time.Now()
	return eachClient(func(int) []float64 {
		var mine []float64
		for time.Since(start) < window {
			t0 := time.Now()
			if !get200(b, client, target) {
				break
			}
			mine = append(mine, float64(time.Since(t0).Microseconds())/1000)
		}
		return mine
	})
}

// getPaced GETs http://host/path through hc from the concurrent clients,
// which together send rate requests a second, evenly spread, for window.
// Each client sends its requests in turn; one due while the last is still
// out goes as soon as that is answered. It returns each request's latency
// in milliseconds from its scheduled time to its answer.
func getPaced(b *testing.B, hc *fasthttp.HostClient, host, path string, rate int, window time.Duration) []float64 {
	interval := time.Duration(loadClients) * time.Second / time.Duration(rate)
	start := time.Now()
	return eachClient(func(c int) []float64 {
		var mine []float64
		req, res := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(res)
		req.SetRequestURI("http://" + host + path)
		// Client c's requests are due at start + c/rate + k*interval.
		due := start.Add(time.Duration(c) * time.Second / time.Duration(rate))
		for due.Sub(start) < window {
			time.Sleep(time.Until(due))
			if err := hc.Do(req, res); err != nil || res.StatusCode() != http.StatusOK {
				b.Errorf("GET %s: %v, status %d", path, err, res.StatusCode())
				break
			}
			mine = append(mine, float64(time.Since(due).Microseconds())/1000)
			due = due.Add(interval)
		}
		return mine
	})
}

// BenchmarkManifestGetByIDWrk is BenchmarkManifestGetByID with wrk (a C
// load generator, Debian package `wrk`, installed by `make bench`) as the
// 50 clients, so the measuring side costs less of the shared 2 cores. It
// reports the mean of b.N 5-second runs after warmUp.
func BenchmarkManifestGetByIDWrk(b *testing.B) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk is not installed (make bench installs it)")
	}
	e, host, path := blogUnderLoad(b)
	runWrk(b, wrk, host, e.srv.URL+path, warmUp)
	b.ResetTimer()
	var rps, p50, p99 float64
	for i := 0; i < b.N; i++ {
		r := runWrk(b, wrk, host, e.srv.URL+path, 5*time.Second)
		rps += r.rps
		p50 += r.p50
		p99 += r.p99
	}
	n := float64(b.N)
	b.ReportMetric(rps/n, "req/s")
	b.ReportMetric(p50/n, "ms-p50")
	b.ReportMetric(p99/n, "ms-p99")
}

type wrkResult struct{ rps, p50, p99 float64 }

// runWrk runs wrk with loadClients connections against url (sent with the Host
// header host) for d.
func runWrk(b *testing.B, wrk, host, url string, d time.Duration) wrkResult {
	out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(loadClients), "-d"+strconv.Itoa(int(d.Seconds()))+"s", "--latency", "-H", "Host: "+host, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "Non-2xx") || strings.Contains(text, "Socket errors") {
		b.Fatalf("errors under load:\n%s", text)
	}
	r := wrkResult{p50: -1, p99: -1}
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Fields(line)
		switch {
		case len(fields) == 2 && fields[0] == "Requests/sec:":
			r.rps, _ = strconv.ParseFloat(fields[1], 64)
		case len(fields) == 2 && fields[0] == "50%":
			r.p50 = wrkMillis(fields[1])
		case len(fields) == 2 && fields[0] == "99%":
			r.p99 = wrkMillis(fields[1])
		}
	}
	if r.rps == 0 || r.p50 < 0 || r.p99 < 0 {
		b.Fatalf("could not read wrk's output:\n%s", text)
	}
	return r
}

// wrkMillis converts wrk's "8.24ms" / "950.00us" / "1.02s" to milliseconds.
func wrkMillis(s string) float64 {
	for suffix, scale := range map[string]float64{"us": 0.001, "ms": 1, "s": 1000} {
		if v, ok := strings.CutSuffix(s, suffix); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && !strings.HasSuffix(v, "m") && !strings.HasSuffix(v, "u") {
				return f * scale
			}
		}
	}
	return -1
}
