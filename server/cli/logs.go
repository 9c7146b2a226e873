package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

func logsCommand(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("logs", "logs [-f] NAME|ID [--since 10m] [--tail N] [--build|--run] [--json]\n\nPrints a deployment's stored log lines, then with -f follows new ones until interrupted.", env.Stderr)
	follow := fs.Bool("f", false, "follow: keep printing lines as they arrive")
	fs.BoolVar(follow, "follow", false, "same as -f")
	since := fs.Duration("since", 0, "only lines from this long ago on (e.g. 10m)")
	tail := fs.Int("tail", 100, "how many of the latest stored lines to print first (without --since)")
	build := fs.Bool("build", false, "only build lines")
	run := fs.Bool("run", false, "only run lines")
	asJSON := fs.Bool("json", false, "print each line as the API's JSON, one per line")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fs, "name one deployment (its name or id)")
	}
	if *build && *run {
		return usageError(fs, "--build and --run exclude each other; give neither for both")
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	d, err := resolve(ctx, c, rest[0])
	if err != nil {
		return err
	}
	req := &coderunnerv1.StreamLogsRequest{DeploymentId: d.GetId(), Follow: *follow, Tail: int32(*tail)}
	var from time.Time
	if *since > 0 {
		// The API pages by sequence number, not time: replay from the
		// start and drop what is older.
		req.Tail, from = 0, time.Now().Add(-*since)
	}
	switch {
	case *build:
		req.Phases = []coderunnerv1.LogPhase{coderunnerv1.LogPhase_LOG_PHASE_BUILD}
	case *run:
		req.Phases = []coderunnerv1.LogPhase{coderunnerv1.LogPhase_LOG_PHASE_RUN}
	}
	print := func(e *coderunnerv1.LogEntry) {
		if e.GetTime().AsTime().Before(from) {
			return
		}
		if *asJSON {
			data, _ := protojson.Marshal(e)
			fmt.Fprintf(env.Stdout, "%s\n", data)
			return
		}
		printLogLine(env.Stdout, e)
	}
	err = streamLogs(ctx, c, req, print)
	if ctx.Err() != nil {
		return nil // interrupted while following: the normal way out
	}
	return err
}

// streamLogs calls StreamLogs and hands each entry to fn until the stream
// ends or ctx is done.
func streamLogs(ctx context.Context, c clients, req *coderunnerv1.StreamLogsRequest, fn func(*coderunnerv1.LogEntry)) error {
	stream, err := c.deployments.StreamLogs(ctx, connect.NewRequest(req))
	if err != nil {
		return err
	}
	defer func() { _ = stream.Close() }()
	for stream.Receive() {
		for _, e := range stream.Msg().GetEntries() {
			fn(e)
		}
	}
	if err := stream.Err(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
