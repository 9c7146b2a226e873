package cli

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

// follow prints the deployment's new log lines and its status changes
// until the revision it started serves (nil) or fails (errFailed).
func follow(ctx context.Context, env Env, c clients, d *coderunnerv1.Deployment, afterSeq int64) error {
	var mu sync.Mutex // one writer at a time on stdout and stderr
	started := time.Now()
	logsCtx, stopLogs := context.WithCancel(ctx)
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		_ = streamLogs(logsCtx, c, &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), AfterSeq: afterSeq, Follow: true}, func(e *coderunnerv1.LogEntry) {
			mu.Lock()
			defer mu.Unlock()
			printLogLine(env.Stdout, e)
		})
	}()
	defer func() { stopLogs(); <-logsDone }()

	revision := d.GetRevision()
	last, seen := d.GetStatus(), d.GetUpdatedAt().AsTime()
	progress := func(d *coderunnerv1.Deployment) {
		// The watch's first message, the state when it began, may be
		// older than what GetDeployment read after it: skip what is past.
		if d.GetStatus() == last || d.GetUpdatedAt().AsTime().Before(seen) {
			return
		}
		last, seen = d.GetStatus(), d.GetUpdatedAt().AsTime()
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(env.Stderr, "==> %s after %.1fs: %s\n", statusName(d.GetStatus()), time.Since(started).Seconds(), d.GetStatusReason())
	}
	outcome := func(d *coderunnerv1.Deployment) (bool, error) {
		switch {
		case d.GetReplacementFailed() && d.GetRevision() != revision:
			return true, failed(env, &mu, d, fmt.Sprintf("revision %d failed; revision %d serves on", revision, d.GetRevision()))
		case d.GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_FAILED:
			return true, failed(env, &mu, d, "the deployment failed")
		case d.GetStatus() == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING && d.GetRevision() >= revision:
			time.Sleep(200 * time.Millisecond) // the last lines of the start
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(env.Stdout, "\nDeployed %s (revision %d) in %.1fs: running at %s\n", d.GetName(), d.GetRevision(), time.Since(started).Seconds(), d.GetUrl())
			return true, nil
		}
		return false, nil
	}

	watch, err := c.deployments.WatchDeployment(ctx, connect.NewRequest(&coderunnerv1.WatchDeploymentRequest{Id: d.GetId()}))
	if err != nil {
		return err
	}
	defer func() { _ = watch.Close() }()
	// The outcome may have come before the watch began.
	if cur, err := c.deployments.GetDeployment(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: d.GetId()})); err == nil {
		progress(cur.Msg.GetDeployment())
		if done, err := outcome(cur.Msg.GetDeployment()); done {
			return err
		}
	}
	for watch.Receive() {
		ev := watch.Msg().GetEvent()
		if ev == nil {
			continue // keepalive
		}
		progress(ev.GetDeployment())
		if done, err := outcome(ev.GetDeployment()); done {
			return err
		}
	}
	if err := watch.Err(); err != nil {
		return err
	}
	return errors.New("the server ended the status stream before the deployment was running")
}

func failed(env Env, mu *sync.Mutex, d *coderunnerv1.Deployment, what string) error {
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(env.Stderr, "\n%s: %s\n", what, d.GetStatusReason())
	return errFailed
}
