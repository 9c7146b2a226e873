package api_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/router"
	"github.com/coderunner/coderunner/server/testenv"
)

// sleepers creates n deployments of files under a min-0 policy and waits
// until every one is IDLE: they go to sleep together, after the shortest
// idle_timeout the API allows, through the same controller as in
// production (no test hook sends them to sleep).
func sleepers(b *testing.B, e *engine, prefix string, files []*coderunnerv1.SourceFile, n int) []*coderunnerv1.Deployment {
	zero := int32(0)
	policy := &coderunnerv1.AutoscalePolicy{MinReplicas: &zero, MaxReplicas: 1, TargetInflight: 1000, IdleTimeout: durationpb.New(30 * time.Second)}
	out := make([]*coderunnerv1.Deployment, n)
	for i := range out {
		out[i] = e.create(&coderunnerv1.CreateDeploymentRequest{Name: fmt.Sprintf("%s-%d", prefix, i), Files: files, Autoscale: policy})
	}
	for i, d := range out {
		out[i] = e.waitFor(d.GetId(), statusRunning, time.Minute)
	}
	return out
}

func awaitSleep(b *testing.B, e *engine, ds []*coderunnerv1.Deployment) {
	for _, d := range ds {
		e.waitFor(d.GetId(), statusIdle, 90*time.Second)
	}
	// Each one's sandbox for the next wake is prepared just after it is
	// IDLE; a deployment is asleep much longer than that in use.
	time.Sleep(time.Second)
}

// timedGet sends one GET and returns the time to the response's first
// byte (the status line), the status and the server's cold-start header.
func timedGet(b *testing.B, client *http.Client, u string) (time.Duration, int, string) {
	start := time.Now()
	res, err := client.Get(u)
	took := time.Since(start)
	if err != nil {
		b.Fatalf("GET %s: %v", u, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return took, res.StatusCode, res.Header.Get(router.ColdStartHeader)
}

func wakeEngine(b *testing.B) *engine {
	useServeGC(b)
	return newEngine(b, sqlite, testenv.Options{Configure: func(c *config.Config) { c.MaxDeploymentsPerUser = 1000 }})
}

// BenchmarkWakeFirstByte: a request to an idle examples/node-hello until
// its response's first byte, beside a bare `node server.js` start → first
// 200 measured in the same run (alternating, so both see the same machine).
func BenchmarkWakeFirstByte(b *testing.B) {
	e := wakeEngine(b)
	ds := sleepers(b, e, "hello", example(b, "node-hello"), b.N)
	awaitSleep(b, e, ds)
	dir := exampleDir("node-hello")
	client := e.appClient()
	client.Transport.(*http.Transport).DisableKeepAlives = true
	var wakes, bares, reported []time.Duration
	b.ResetTimer()
	for _, d := range ds {
		bares = append(bares, bareNodeStart(b, dir))
		took, status, cold := timedGet(b, client, e.appURL(d, "/"))
		if status != 200 || cold == "" {
			b.Fatalf("wake answered %d, cold start %q", status, cold)
		}
		wakes = append(wakes, took)
		reported = append(reported, parseMillis(b, cold))
	}
	b.StopTimer()
	wake, bare := median(wakes), median(bares)
	b.ReportMetric(wake, "ms-median-wake")
	b.ReportMetric(bare, "ms-median-bare")
	b.ReportMetric(wake-bare, "ms-over-bare")
	b.ReportMetric(median(reported), "ms-median-header")
}

// BenchmarkWakeManifestBlog: a request to an idle blog manifest
// (GET /api/users) until the first byte of its answer, beside the same
// runtime started bare on the host (`coderunner-manifest manifest-serve`
// → first 200 of /api/users), alternating. Both run the runtime `make
// build` ships beside the server (bin/coderunner-manifest, built here for
// the benchmark), not the test binary.
func BenchmarkWakeManifestBlog(b *testing.B) {
	bin := manifestRuntimeBinary(b)
	useServeGC(b)
	e := newEngine(b, sqlite, testenv.Options{SelfBinary: bin, Configure: func(c *config.Config) { c.MaxDeploymentsPerUser = 1000 }})
	ds := sleepers(b, e, "blog", example(b, "manifest-blog"), b.N)
	awaitSleep(b, e, ds)
	client := e.appClient()
	client.Transport.(*http.Transport).DisableKeepAlives = true
	manifestPath := filepath.Join(exampleDir("manifest-blog"), "manifest.yaml")
	// The bare runs share a data dir whose database the first one (not
	// counted) creates: a wake's database exists too.
	dataDir := b.TempDir()
	bareManifestStart(b, bin, manifestPath, dataDir)
	var wakes, bares []time.Duration
	b.ResetTimer()
	for _, d := range ds {
		bares = append(bares, bareManifestStart(b, bin, manifestPath, dataDir))
		took, status, _ := timedGet(b, client, e.appURL(d, "/api/users"))
		if status != 200 {
			b.Fatalf("wake answered %d", status)
		}
		wakes = append(wakes, took)
	}
	b.StopTimer()
	wake, bare := median(wakes), median(bares)
	b.ReportMetric(wake, "ms-median-wake")
	b.ReportMetric(bare, "ms-median-bare")
	b.ReportMetric(wake-bare, "ms-over-bare")
}

// manifestRuntimeBinary builds the coderunner-manifest command into the
// benchmark's temp dir.
func manifestRuntimeBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "coderunner-manifest")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/coderunner/coderunner/server/cmd/coderunner-manifest").CombinedOutput()
	if err != nil {
		b.Fatalf("go build coderunner-manifest: %v\n%s", err, out)
	}
	return bin
}

// bareManifestStart runs `bin manifest-serve` for manifestPath on the
// host with dataDir and returns the time to its first 200 of GET
// /api/users.
func bareManifestStart(b *testing.B, bin, manifestPath, dataDir string) time.Duration {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	cmd := exec.Command(bin, "manifest-serve", "--manifest", manifestPath, "--data", dataDir, "--addr", addr)
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	pollUntil200(b, client, "http://"+addr+"/api/users", 10*time.Second)
	took := time.Since(start)
	cmd.Process.Kill()
	cmd.Wait()
	return took
}

// BenchmarkWakeBurst: 50 clients arrive together at an idle node-hello.
// Every request must be answered 200; reports the median over runs of
// each burst's p99 and of its single-wake time (the fastest answer, which
// is the wake itself), and their difference. Beside it, in the same run,
// the same burst at a bare `node server.js` on the host the moment it
// first answers: the app's own time to answer 50 new connections.
func BenchmarkWakeBurst(b *testing.B) {
	const clients = 50
	e := wakeEngine(b)
	ds := sleepers(b, e, "burst", example(b, "node-hello"), b.N)
	awaitSleep(b, e, ds)
	client := e.appClient()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = clients
	var p99s, firsts, spreads, bareSpreads []time.Duration
	b.ResetTimer()
	for _, d := range ds {
		bareSpreads = append(bareSpreads, bareNodeBurst(b, clients))
		times := burstTimes(b, client, e.appURL(d, "/"), clients)
		p99 := times[len(times)*99/100]
		p99s, firsts, spreads = append(p99s, p99), append(firsts, times[0]), append(spreads, p99-times[0])
	}
	b.StopTimer()
	b.ReportMetric(median(p99s), "ms-median-p99")
	b.ReportMetric(median(firsts), "ms-median-wake")
	b.ReportMetric(median(spreads), "ms-p99-over-wake")
	b.ReportMetric(median(bareSpreads), "ms-bare-p99-over-first")
}

// burstTimes sends n GETs of u at once, fails on any answer but 200, and
// returns their times, fastest first.
func burstTimes(b *testing.B, client *http.Client, u string, n int) []time.Duration {
	times := make([]time.Duration, n)
	statuses := make([]int, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-gate
			times[i], statuses[i], _ = timedGet(b, client, u)
		})
	}
	close(gate)
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			b.Fatalf("request %d of the burst answered %d", i, s)
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times
}

// bareNodeBurst starts examples/node-hello on the host, waits for its
// first 200, sends it a burst of n new connections at once and returns
// the burst's p99 over its fastest answer.
func bareNodeBurst(b *testing.B, n int) time.Duration {
	u, stop := runNode(b, exampleDir("node-hello"))
	defer stop()
	pollUntil200(b, &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}, u, 10*time.Second)
	transport := &http.Transport{MaxIdleConnsPerHost: n}
	defer transport.CloseIdleConnections()
	times := burstTimes(b, &http.Client{Transport: transport}, u, n)
	return times[len(times)*99/100] - times[0]
}

func parseMillis(b *testing.B, s string) time.Duration {
	var ms float64
	if _, err := fmt.Sscan(s, &ms); err != nil {
		b.Fatalf("cold-start header %q: %v", s, err)
	}
	return time.Duration(ms * float64(time.Millisecond))
}
