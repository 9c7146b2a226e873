package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

// follower collects a StreamLogs stream.
type follower struct {
	mu      sync.Mutex
	entries []*coderunnerv1.LogEntry
	final   coderunnerv1.DeploymentStatus
	err     error
	done    chan struct{}
}

func follow(ctx context.Context, client coderunnerv1connect.DeploymentServiceClient, token string, req *coderunnerv1.StreamLogsRequest) *follower {
	f := &follower{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		stream, err := client.StreamLogs(ctx, withToken(req, token))
		if err != nil {
			f.err = err
			return
		}
		for stream.Receive() {
			f.mu.Lock()
			f.entries = append(f.entries, stream.Msg().GetEntries()...)
			if s := stream.Msg().GetFinalStatus(); s != 0 {
				f.final = s
			}
			f.mu.Unlock()
		}
		f.err = stream.Err()
	}()
	return f
}

// texts returns the text of every entry whose text starts with prefix.
func (f *follower) texts(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.entries {
		if strings.HasPrefix(e.GetText(), prefix) {
			out = append(out, e.GetText())
		}
	}
	return out
}

func (f *follower) waitFor(t *testing.T, prefix string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(f.texts(prefix)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d lines starting %q, want %d (err %v)", len(f.texts(prefix)), prefix, n, f.err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkSeq fails unless seqs strictly increase by one (no gap, no
// duplicate) — valid when the stream was not filtered.
func (f *follower) checkSeq(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 1; i < len(f.entries); i++ {
		if f.entries[i].GetSeq() != f.entries[i-1].GetSeq()+1 {
			t.Fatalf("seq %d follows %d: a gap or a duplicate", f.entries[i].GetSeq(), f.entries[i-1].GetSeq())
		}
	}
}

// TestStreamLogs follows a deployment from its first line over Connect and
// gRPC while it prints thousands of lines, and checks every line arrives
// exactly once, in order, then resumes with after_seq, and ends with the
// final status when the deployment stops.
func TestStreamLogs(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			e := newEngine(t, db, testenv.Options{})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "chatty", Files: readDir(t, "testdata/probe")})
			grpcClient := coderunnerv1connect.NewDeploymentServiceClient(testenv.H2CClient(), e.srv.URL, connect.WithGRPC())
			connectFollower := follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true})
			grpcFollower := follow(ctx, grpcClient, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true})
			d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)

			const n = 5000
			var late *follower
			go func() {
				// A follower that joins while the lines are being written
				// replays and then follows with nothing lost or repeated.
				time.Sleep(20 * time.Millisecond)
				late = follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true})
			}()
			e.fetchJSON(d, fmt.Sprintf("/print?n=%d", n))
			for name, f := range map[string]*follower{"connect": connectFollower, "grpc": grpcFollower} {
				f.waitFor(t, "line ", n, 30*time.Second)
				f.checkSeq(t)
				for i, text := range f.texts("line ") {
					if text != fmt.Sprintf("line %d", i+1) {
						t.Fatalf("%s: line %d is %q", name, i+1, text)
					}
				}
				if got := f.texts("replica 0 ready after"); len(got) != 1 {
					t.Errorf("%s: platform lines %v", name, got)
				}
			}
			time.Sleep(100 * time.Millisecond)
			late.waitFor(t, "line ", n, 30*time.Second)
			late.checkSeq(t)
			if len(late.texts("line ")) != n {
				t.Errorf("late follower got %d lines", len(late.texts("line ")))
			}

			// Resume: after_seq returns exactly the lines after it.
			all := connectFollower.entries
			mid := all[len(all)/2].GetSeq()
			res, err := e.client.GetLogs(ctx, withToken(&coderunnerv1.GetLogsRequest{DeploymentId: d.GetId(), AfterSeq: mid, Limit: 5000}, e.token))
			if err != nil {
				t.Fatal(err)
			}
			if first := res.Msg.GetEntries()[0].GetSeq(); first != mid+1 {
				t.Errorf("GetLogs after_seq=%d starts at %d", mid, first)
			}
			resumed := follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), AfterSeq: mid})
			<-resumed.done
			if resumed.err != nil || len(resumed.entries) == 0 || resumed.entries[0].GetSeq() != mid+1 {
				t.Fatalf("resume from %d: %v, first %v", mid, resumed.err, resumed.entries[:1])
			}
			resumed.checkSeq(t)

			// Filters and tail.
			tail := follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Tail: 3, Contains: "line 49"})
			<-tail.done
			if got := tail.texts(""); strings.Join(got, ",") != "line 4997,line 4998,line 4999" {
				t.Errorf("tail 3 containing 'line 49' = %v", got)
			}
			system := follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Streams: []coderunnerv1.LogStream{coderunnerv1.LogStream_LOG_STREAM_SYSTEM}})
			<-system.done
			if len(system.texts("line ")) != 0 || len(system.texts("replica 0 ready")) != 1 {
				t.Errorf("system-only stream = %v", system.texts(""))
			}

			// Stopping ends follow streams with the final status.
			if _, err := e.client.StopDeployment(ctx, withToken(&coderunnerv1.StopDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-connectFollower.done:
			case <-time.After(10 * time.Second):
				t.Fatal("follow stream did not end when the deployment stopped")
			}
			if connectFollower.err != nil || connectFollower.final != statusStopped {
				t.Errorf("stream ended with %v, final status %v", connectFollower.err, connectFollower.final)
			}
			if got := connectFollower.texts("stopped by owner"); len(got) != 1 {
				t.Errorf("the last platform line did not arrive before the end: %v", got)
			}

			// The plain-text download.
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/deployments/"+d.GetId()+"/logs.txt", nil)
			req.Header.Set("Authorization", "Bearer "+e.token)
			httpRes, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(httpRes.Body)
			httpRes.Body.Close()
			if httpRes.StatusCode != 200 || !strings.Contains(string(body), " run/stdout line 5000\n") || !strings.Contains(string(body), " run/system stopped by owner\n") {
				t.Errorf("logs.txt = %d, %d bytes", httpRes.StatusCode, len(body))
			}
			req.Header.Del("Authorization")
			if res, _ := http.DefaultClient.Do(req); res.StatusCode != 401 {
				t.Errorf("logs.txt without a token = %d", res.StatusCode)
			}
		})
	}
}

// TestStreamAuthorization: another user's logs and watch streams are
// NotFound; no token is Unauthenticated.
func TestStreamAuthorization(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	ctx := context.Background()
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "private", Files: example(t, "node-hello")})
	other, _ := signUp(t, e.auth)
	f := follow(ctx, e.client, other, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true})
	<-f.done
	wantCode(t, f.err, connect.CodeNotFound)
	f = follow(ctx, e.client, "", &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true})
	<-f.done
	wantCode(t, f.err, connect.CodeUnauthenticated)
	watch, err := e.client.WatchDeployment(ctx, withToken(&coderunnerv1.WatchDeploymentRequest{Id: d.GetId()}, other))
	if err == nil {
		for watch.Receive() {
			t.Error("a stranger received a status event")
		}
		err = watch.Err()
	}
	wantCode(t, err, connect.CodeNotFound)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/deployments/"+d.GetId()+"/logs.txt", nil)
	req.Header.Set("Authorization", "Bearer "+other)
	if res, _ := http.DefaultClient.Do(req); res.StatusCode != 404 {
		t.Errorf("stranger's logs.txt = %d", res.StatusCode)
	}
	e.waitFor(d.GetId(), statusRunning, 30*time.Second)
}

// TestWatchDeployments sees a deployment's whole life as events.
func TestWatchDeployments(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	all, err := e.client.WatchDeployments(ctx, withToken(&coderunnerv1.WatchDeploymentsRequest{}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "watched", Files: example(t, "node-hello")})
	one, err := e.client.WatchDeployment(ctx, withToken(&coderunnerv1.WatchDeploymentRequest{Id: d.GetId()}, e.token))
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if _, err := e.client.DeleteDeployment(ctx, withToken(&coderunnerv1.DeleteDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	for one.Receive() {
		statuses = append(statuses, strings.TrimPrefix(one.Msg().GetEvent().GetStatus().String(), "DEPLOYMENT_STATUS_"))
	}
	if err := one.Err(); err != nil {
		t.Fatalf("watch ended with %v", err)
	}
	got := strings.Join(statuses, " ")
	if !strings.HasSuffix(got, "RUNNING DESTROYED") || !strings.Contains(got, "BUILDING") {
		t.Errorf("WatchDeployment saw %q", got)
	}
	var seen []string
	for all.Receive() {
		ev := all.Msg().GetEvent()
		if ev.GetDeployment().GetId() == d.GetId() {
			seen = append(seen, strings.TrimPrefix(ev.GetStatus().String(), "DEPLOYMENT_STATUS_"))
		}
		if ev.GetStatus() == statusDestroyed {
			break
		}
	}
	if strings.Join(seen, " ") != "PENDING PROVISIONING BUILDING RUNNING DESTROYED" {
		t.Errorf("WatchDeployments saw %q", seen)
	}
}

// TestLongLinesAreCut: a line over 16 KiB is stored cut and marked, and the
// next line is intact.
func TestLongLinesAreCut(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("long")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: true, Streams: []coderunnerv1.LogStream{coderunnerv1.LogStream_LOG_STREAM_STDOUT}})
	e.fetchJSON(d, "/long?kb=40")
	f.waitFor(t, "after long", 1, 10*time.Second)
	long := f.texts("LLLL")
	if len(long) != 1 {
		t.Fatalf("got %d long lines", len(long))
	}
	if len(long[0]) > 16<<10+64 || !strings.HasSuffix(long[0], "[line cut at 16 KiB]") {
		t.Errorf("long line is %d bytes, ends %q", len(long[0]), long[0][len(long[0])-30:])
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, entry := range f.entries {
		if strings.HasPrefix(entry.GetText(), "LLLL") && !entry.GetTruncated() {
			t.Error("the cut line is not marked truncated")
		}
	}
}

// TestFloodDropsAreCounted: an app prints a burst far faster than storage
// keeps up. It is not slowed; what could not be stored is counted in
// "[coderunner] N lines dropped" lines, so stored + dropped = printed, with
// no gap in seq and the stored lines in the order printed.
func TestFloodDropsAreCounted(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("flood")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const printed = 100_000
	e.fetchJSON(d, fmt.Sprintf("/print?n=%d&tag=burst", printed))
	// The app's reply can come before all its output reached the pipe, so
	// read what is stored until every printed line is accounted for, stored
	// or counted as dropped.
	var f *follower
	var stored []string
	dropped := 0
	for {
		f = follow(ctx, e.client, e.token, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId()})
		<-f.done
		if f.err != nil {
			t.Fatal(f.err)
		}
		stored = f.texts("burst ")
		dropped = 0
		for _, text := range f.texts("[coderunner] ") {
			var k int
			if _, err := fmt.Sscanf(text, "[coderunner] %d lines dropped", &k); err == nil {
				dropped += k
			}
		}
		if len(stored)+dropped >= printed {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("after 60 s: %d stored + %d dropped of %d printed", len(stored), dropped, printed)
		case <-time.After(200 * time.Millisecond):
		}
	}
	if len(stored)+dropped != printed {
		t.Fatalf("stored %d + dropped %d = %d, want the %d printed", len(stored), dropped, len(stored)+dropped, printed)
	}
	if dropped == 0 {
		t.Fatalf("all %d lines were stored: the burst did not overflow the queue, so the test proves nothing", len(stored))
	}
	f.checkSeq(t)
	prev := 0
	for _, text := range stored {
		var i int
		fmt.Sscanf(text, "burst %d", &i)
		if i <= prev {
			t.Fatalf("stored %q after burst %d", text, prev)
		}
		prev = i
	}
	t.Logf("stored %d, dropped %d (counted)", len(stored), dropped)
}
