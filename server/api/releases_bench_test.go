package api_test

import (
	"context"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/testenv"
)

// expressVersion is examples/express-app answering "/" with version.
func expressVersion(b *testing.B, version string) []*coderunnerv1.SourceFile {
	files := example(b, "express-app")
	for _, f := range files {
		if f.GetPath() == "index.js" {
			f.Content = []byte(strings.Replace(string(f.Content), `app: "express-app"`, `app: "`+version+`"`, 1))
		}
	}
	return files
}

// BenchmarkRollback measures RollbackDeployment of the Express app until
// its URL serves the old code (ms-rollback-median), against a redeploy of
// the same source with unchanged dependencies, same clock
// (ms-redeploy-median), in the same run. Each iteration goes back and
// forth between two releases of different code.
func BenchmarkRollback(b *testing.B) {
	e := newEngine(b, sqlite, testenv.Options{})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "express", Files: expressVersion(b, "version-a")})
	e.waitFor(d.GetId(), statusRunning, 3*time.Minute)
	e.redeploy(d.GetId(), expressVersion(b, "version-b"))
	d = e.waitFor(d.GetId(), statusRunning, 3*time.Minute)
	u, _ := url.Parse(d.GetUrl())
	client := e.appClient()
	serves := func(version string) {
		deadline := time.Now().Add(time.Minute)
		for {
			if res, err := client.Get("http://" + u.Host + "/"); err == nil {
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode == 200 && strings.Contains(string(body), version) {
					return
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s is not served within a minute", version)
			}
			time.Sleep(time.Millisecond)
		}
	}
	serves("version-b")
	var rollbacks, redeploys []time.Duration
	versions := map[int64]string{1: "version-a", 2: "version-b"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		current := e.get(d.GetId()).GetRelease()
		target := current - 1 // the release before: the other version
		want := versions[target]
		start := time.Now()
		rolled, err := e.client.RollbackDeployment(context.Background(), withToken(&coderunnerv1.RollbackDeploymentRequest{DeploymentId: d.GetId(), Release: target}, e.token))
		if err != nil {
			b.Fatal(err)
		}
		serves(want)
		rollbacks = append(rollbacks, time.Since(start))
		versions[rolled.Msg.GetDeployment().GetRelease()] = want
		e.waitFor(d.GetId(), statusRunning, time.Minute)

		other := versions[target+1]
		start = time.Now()
		e.redeploy(d.GetId(), expressVersion(b, other))
		serves(other)
		redeploys = append(redeploys, time.Since(start))
		versions[e.get(d.GetId()).GetRelease()] = other
		e.waitFor(d.GetId(), statusRunning, time.Minute)
	}
	b.ReportMetric(median(rollbacks), "ms-rollback-median")
	b.ReportMetric(median(redeploys), "ms-redeploy-median")
}
