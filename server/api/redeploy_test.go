package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestRedeployDrainsTheOldRevision: a request the running revision is
// still answering when a redeploy routes to the new one gets its answer;
// the old revision is stopped only after a drain period.
func TestRedeployDrainsTheOldRevision(t *testing.T) {
	e := newEngine(t, sqlite, testenv.Options{})
	d := e.runProbe("drain")
	u, _ := url.Parse(d.GetUrl())
	slow := make(chan int, 1)
	go func() {
		res, err := e.appClient().Get("http://" + u.Host + "/status?code=200&ms=700")
		if err != nil {
			slow <- 0
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		slow <- res.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // the slow request is with the old replica
	if _, err := e.client.RedeployDeployment(context.Background(), withToken(&coderunnerv1.RedeployDeploymentRequest{Id: d.GetId()}, e.token)); err != nil {
		t.Fatal(err)
	}
	if code := <-slow; code != http.StatusOK {
		t.Errorf("the request the old revision was answering got %d, want 200", code)
	}
	d = e.waitFor(d.GetId(), statusRunning, 30*time.Second)
	if d.GetRevision() != 2 {
		t.Errorf("revision %d, want 2", d.GetRevision())
	}
}
