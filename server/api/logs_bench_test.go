package api_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

func percentile(sorted []float64, p float64) float64 {
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p))]
}

// followTicks follows d over gRPC (HTTP/2) and records, for each "tick"
// line, how long after the app printed it the line arrived. opened, when
// not nil, is called once the first message (the server's empty batch
// once the replay is done) has arrived: the stream is then live.
func followTicks(ctx context.Context, b *testing.B, client coderunnerv1connect.DeploymentServiceClient, token, id, tag string, want int, latencies chan<- float64, opened func()) error {
	stream, err := client.StreamLogs(ctx, withToken(&coderunnerv1.StreamLogsRequest{
		DeploymentId: id, Follow: true, Contains: tag + " ",
	}, token))
	if err != nil {
		return err
	}
	defer stream.Close()
	got := 0
	for got < want && stream.Receive() {
		now := float64(time.Now().UnixNano()) / 1e6
		if opened != nil {
			opened()
			opened = nil
		}
		for _, e := range stream.Msg().GetEntries() {
			fields := strings.Fields(e.GetText())
			if len(fields) != 3 {
				continue
			}
			printed, err := strconv.ParseFloat(fields[2], 64)
			if err != nil {
				continue
			}
			got++
			if latencies != nil {
				latencies <- now - printed
			}
		}
	}
	if got < want {
		return fmt.Errorf("received %d of %d lines: %v", got, want, stream.Err())
	}
	return nil
}

// benchmarkFollowers deploys the probe, starts n followers over gRPC,
// prints lines at 1,000 lines/s and reports the latency distribution
// (printed by the app → received by the client).
func benchmarkFollowers(b *testing.B, followers int) {
	e := newEngine(b, sqlite, testenv.Options{Configure: func(c *config.Config) { c.MaxDeploymentsPerUser = 1000 }})
	d := e.runProbe("ticker")
	client := coderunnerv1connect.NewDeploymentServiceClient(testenv.H2CClient(), e.srv.URL, connect.WithGRPC())
	const lines = 2000
	var all []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		tag := fmt.Sprintf("tick%d", i) // this round's lines only
		latencies := make(chan float64, followers*lines)
		var wg sync.WaitGroup
		errs := make(chan error, followers)
		ready := make(chan struct{}, followers)
		for f := 0; f < followers; f++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				opened := func() { once.Do(func() { ready <- struct{}{} }) }
				if err := followTicks(ctx, b, client, e.token, d.GetId(), tag, lines, latencies, opened); err != nil {
					errs <- err
					opened()
				}
			}()
		}
		// Every stream has replayed what is stored and is live before the
		// app prints: the figure is the live fan-out, not 500 replays.
		for f := 0; f < followers; f++ {
			<-ready
		}
		e.fetchJSON(d, fmt.Sprintf("/tick?n=%d&rate=1000&tag=%s", lines, tag))
		wg.Wait()
		cancel()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		close(latencies)
		for l := range latencies {
			all = append(all, l)
		}
	}
	sort.Float64s(all)
	b.ReportMetric(percentile(all, 0.50), "ms-p50")
	b.ReportMetric(percentile(all, 0.99), "ms-p99")
	b.ReportMetric(float64(len(all)), "lines-received")
}

// BenchmarkLogLatency: one follower, 1,000 lines/s.
func BenchmarkLogLatency(b *testing.B) { benchmarkFollowers(b, 1) }

// BenchmarkLogFanOut: 500 followers of one deployment, 1,000 lines/s.
func BenchmarkLogFanOut(b *testing.B) { benchmarkFollowers(b, 500) }

// BenchmarkCrossServerLatency: the app runs under server A; a follower on
// server B (same PostgreSQL) receives its lines through LISTEN/NOTIFY.
// Reports printed → received latency at 1,000 lines/s.
func BenchmarkCrossServerLatency(b *testing.B) {
	db, ok := testenv.Postgres(b)
	if !ok {
		b.Skip("needs PostgreSQL (TEST_DATABASE_URL)")
	}
	a := newEngine(b, db, testenv.Options{})
	other := testenv.Start(b, db, testenv.Options{})
	d := a.runProbe("ticker")
	client := coderunnerv1connect.NewDeploymentServiceClient(testenv.H2CClient(), other.URL, connect.WithGRPC())
	time.Sleep(300 * time.Millisecond) // the other server's listener connects
	const lines = 2000
	var all []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		tag := fmt.Sprintf("xtick%d", i)
		latencies := make(chan float64, lines)
		done := make(chan error, 1)
		opened := make(chan struct{})
		go func() {
			done <- followTicks(ctx, b, client, a.token, d.GetId(), tag, lines, latencies, func() { close(opened) })
		}()
		select {
		case <-opened:
		case err := <-done:
			b.Fatal(err)
		}
		a.fetchJSON(d, fmt.Sprintf("/tick?n=%d&rate=1000&tag=%s", lines, tag))
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		cancel()
		close(latencies)
		for l := range latencies {
			all = append(all, l)
		}
	}
	sort.Float64s(all)
	b.ReportMetric(percentile(all, 0.50), "ms-p50")
	b.ReportMetric(percentile(all, 0.99), "ms-p99")
}

// BenchmarkAppPrintThroughput: the probe app prints lines for 2 seconds
// as fast as its stdout takes them (16 KiB writes, honouring backpressure);
// reports how many lines per second the platform captured from the pipe,
// split, numbered and stored, from the request that starts the printing
// until the last line (or the note counting dropped ones) is stored, and
// what share of the printed lines was dropped (and logged as dropped).
func BenchmarkAppPrintThroughput(b *testing.B) { benchmarkAppPrint(b, 0) }

// BenchmarkAppPrintThroughput20Secrets is BenchmarkAppPrintThroughput
// with 20 secrets set: every line is masked before it is stored.
func BenchmarkAppPrintThroughput20Secrets(b *testing.B) { benchmarkAppPrint(b, 20) }

func benchmarkAppPrint(b *testing.B, secrets int) {
	for _, db := range testenv.Databases(b) {
		b.Run(db.Name, func(b *testing.B) {
			e := newEngine(b, db, testenv.Options{})
			d := e.runProbe("printer")
			if secrets > 0 {
				var dotenv strings.Builder
				for i := range secrets {
					fmt.Fprintf(&dotenv, "SECRET_%d=%s\n", i, randomValue())
				}
				if _, err := e.configClient().ImportConfig(context.Background(), withToken(&coderunnerv1.ImportConfigRequest{
					DeploymentId: d.GetId(), Dotenv: dotenv.String(), AsSecrets: true}, e.token)); err != nil {
					b.Fatal(err)
				}
				e.waitFor(d.GetId(), statusRunning, time.Minute)
			}
			var stored, printed int64
			var elapsed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				before := e.lastSeq(d.GetId())
				start := time.Now()
				res := e.fetchJSON(d, fmt.Sprintf("/flood?ms=2000&tag=flood%d", i))
				printed += int64(res["printed"].(float64))
				// Stored once the last seq has not moved for 300 ms.
				last, lastChange := before, time.Now()
				for time.Since(lastChange) < 300*time.Millisecond {
					time.Sleep(5 * time.Millisecond)
					if seq := e.lastSeq(d.GetId()); seq != last {
						last, lastChange = seq, time.Now()
					}
				}
				stored += last - before
				elapsed += lastChange.Sub(start)
			}
			b.ReportMetric(float64(stored)/elapsed.Seconds(), "lines/s-stored")
			b.ReportMetric(float64(printed)/elapsed.Seconds(), "lines/s-printed")
			b.ReportMetric(100*(1-float64(stored)/float64(printed)), "%dropped")
		})
	}
}

// lastSeq is the seq of the deployment's newest stored line.
func (e *engine) lastSeq(id string) int64 {
	e.t.Helper()
	stream, err := e.client.StreamLogs(context.Background(), withToken(&coderunnerv1.StreamLogsRequest{DeploymentId: id, Tail: 1}, e.token))
	if err != nil {
		e.t.Fatal(err)
	}
	defer stream.Close()
	var seq int64
	for stream.Receive() {
		for _, l := range stream.Msg().GetEntries() {
			seq = l.GetSeq()
		}
	}
	if err := stream.Err(); err != nil {
		e.t.Fatal(err)
	}
	return seq
}
