package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

// stateFile, in a deployed folder, remembers which deployment it became,
// so the next `coderunner deploy` redeploys it.
const stateFile = ".coderunner.json"

type folderState struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Server string `json:"server"`
}

func deploy(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("deploy", "deploy [DIR] [--name NAME] [--env KEY=VALUE ...]\n\nPacks DIR (default .) as a tar.gz, honouring .gitignore and .coderunnerignore and never sending node_modules/ or .git/, creates a deployment (or redeploys the one named in DIR/"+stateFile+"), follows the build live and prints the URL.", env.Stderr)
	name := fs.String("name", "", "the deployment's name (default: the folder's name)")
	vars := envFlags{}
	fs.Var(vars, "env", "an environment variable KEY=VALUE for the app (repeatable); on a redeploy, merged into the current ones")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError(fs, "deploy one folder at a time")
	}
	dir := "."
	if len(rest) == 1 {
		dir = rest[0]
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return usageError(fs, "%s is not a folder", dir)
	}
	c, creds, err := session(env)
	if err != nil {
		return err
	}
	archive, files, err := pack(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "==> packed %d files (%s) from %s\n", files, sizeOf(len(archive)), dir)

	state, _ := readState(dir)
	var d *coderunnerv1.Deployment
	var afterSeq int64
	if state.ID != "" && state.Server == creds.Server {
		d, afterSeq, err = redeploy(ctx, c, state.ID, archive, vars)
		if connect.CodeOf(err) == connect.CodeNotFound {
			fmt.Fprintf(env.Stderr, "==> %s no longer exists on %s; creating a new deployment\n", state.Name, creds.Server)
			d, err = nil, nil
		}
		if err != nil {
			return err
		}
	}
	if d == nil {
		if *name == "" {
			*name = nameFor(filepath.Base(dir))
		}
		res, err := c.deployments.CreateDeployment(ctx, connect.NewRequest(&coderunnerv1.CreateDeploymentRequest{Name: *name, Env: vars, Archive: archive}))
		if err != nil {
			return err
		}
		d = res.Msg.GetDeployment()
		if err := writeState(dir, folderState{ID: d.GetId(), Name: d.GetName(), Server: creds.Server}); err != nil {
			fmt.Fprintf(env.Stderr, "warning: cannot remember the deployment in %s: %v\n", filepath.Join(dir, stateFile), err)
		}
		fmt.Fprintf(env.Stderr, "==> created %s (%s)\n", d.GetName(), d.GetId())
	} else {
		fmt.Fprintf(env.Stderr, "==> redeploying %s as revision %d\n", d.GetName(), d.GetRevision())
	}
	return follow(ctx, env, c, d, afterSeq)
}

// redeploy sends new source to an existing deployment, after merging
// vars into its environment; it returns the deployment and the last log
// sequence number from before, so following shows only the new lines.
func redeploy(ctx context.Context, c clients, id string, archive []byte, vars envFlags) (*coderunnerv1.Deployment, int64, error) {
	var last int64
	err := streamLogs(ctx, c, &coderunnerv1.StreamLogsRequest{DeploymentId: id, Tail: 1}, func(e *coderunnerv1.LogEntry) { last = e.GetSeq() })
	if err != nil {
		return nil, 0, err
	}
	if len(vars) > 0 {
		cur, err := c.deployments.GetDeployment(ctx, connect.NewRequest(&coderunnerv1.GetDeploymentRequest{Id: id}))
		if err != nil {
			return nil, 0, err
		}
		env := cur.Msg.GetDeployment().GetEnv()
		if env == nil {
			env = map[string]string{}
		}
		for k, v := range vars {
			env[k] = v
		}
		req := &coderunnerv1.UpdateDeploymentRequest{Id: id, Env: env}
		req.UpdateMask = &fieldmaskpb.FieldMask{Paths: []string{"env"}}
		if _, err := c.deployments.UpdateDeployment(ctx, connect.NewRequest(req)); err != nil {
			return nil, 0, err
		}
	}
	res, err := c.deployments.RedeployDeployment(ctx, connect.NewRequest(&coderunnerv1.RedeployDeploymentRequest{Id: id, Archive: archive}))
	if err != nil {
		return nil, 0, err
	}
	return res.Msg.GetDeployment(), last, nil
}

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
	last := d.GetStatus()
	progress := func(d *coderunnerv1.Deployment) {
		if d.GetStatus() == last {
			return
		}
		last = d.GetStatus()
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
	defer watch.Close()
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

var invalidNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// nameFor turns a folder name into a valid deployment name
// (^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$).
func nameFor(folder string) string {
	n := strings.Trim(invalidNameChars.ReplaceAllString(strings.ToLower(folder), "-"), "-")
	n = strings.TrimLeft(n, "0123456789-")
	if len(n) > 40 {
		n = strings.TrimRight(n[:40], "-")
	}
	if n == "" {
		n = "app"
	}
	return n
}

func readState(dir string) (folderState, error) {
	var s folderState
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(data, &s)
}

func writeState(dir string, s folderState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stateFile), append(data, '\n'), 0o644)
}

func sizeOf(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
}
