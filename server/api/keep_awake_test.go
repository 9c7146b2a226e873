package api_test

import (
	"bufio"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestOpenConnectionsKeepAwake: under a min-0 policy, a deployment with an
// open event stream or an open WebSocket is not idle, however long no new
// request arrives; once they close it goes to sleep after idle_timeout.
func TestOpenConnectionsKeepAwake(t *testing.T) {
	t.Parallel()
	e := newEngine(t, sqlite, testenv.Options{})
	zero := int32(0)
	policy := &coderunnerv1.AutoscalePolicy{MinReplicas: &zero, MaxReplicas: 1, TargetInflight: 50, IdleTimeout: durationpb.New(30 * time.Second)}
	streamer := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "streamer", Files: readDir(t, "testdata/probe"), Autoscale: policy})
	socket := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "socket", Files: readDir(t, "testdata/probe"), Autoscale: policy})
	streamer = e.waitFor(streamer.GetId(), statusRunning, time.Minute)
	socket = e.waitFor(socket.GetId(), statusRunning, time.Minute)

	// An event a second for as long as the test holds it open.
	client := e.appClient()
	client.Timeout = 0 // the stream stays open past any request timeout
	res, err := client.Get(e.appURL(streamer, "/sse?every=1000&n=1000"))
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 100)
	go func() {
		reader := bufio.NewReader(res.Body)
		for {
			line, err := reader.ReadString('\n')
			if err != nil {
				close(events)
				return
			}
			if strings.HasPrefix(line, "data: ") {
				events <- line
			}
		}
	}()
	u, _ := url.Parse(socket.GetUrl())
	conn, reader := upgradeProbe(t, e, u.Host)

	// Past idle_timeout and an evaluation: both still run and serve.
	time.Sleep(40 * time.Second)
	for _, d := range []*coderunnerv1.Deployment{streamer, socket} {
		if got := e.get(d.GetId()); got.GetStatus() != statusRunning {
			t.Errorf("%s with an open connection: %v %q", d.GetName(), got.GetStatus(), got.GetStatusReason())
		}
	}
	if n := len(events); n < 20 {
		t.Errorf("the stream delivered %d events in 40 s", n)
	}
	for len(events) > 0 {
		<-events
	}
	select {
	case _, ok := <-events:
		if !ok {
			t.Error("the stream ended")
		}
	case <-time.After(3 * time.Second):
		t.Error("the stream delivers no more events")
	}
	_, _ = conn.Write([]byte("still there"))
	buf := make([]byte, len("still there"))
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(reader, buf); err != nil || string(buf) != "still there" {
		t.Errorf("echo after 40 s = %q, %v", buf, err)
	}

	res.Body.Close()
	conn.Close()
	for _, d := range []*coderunnerv1.Deployment{streamer, socket} {
		got := e.waitFor(d.GetId(), statusIdle, 50*time.Second)
		if !strings.HasPrefix(got.GetStatusReason(), "asleep: no request for 3") {
			t.Errorf("%s asleep: %q", d.GetName(), got.GetStatusReason())
		}
	}
}
