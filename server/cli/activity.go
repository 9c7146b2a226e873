package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

// activityCommand is `coderunner activity [NAME|ID] [--action A] [-n N]
// [--follow] [--json]`: the audit log, oldest of the shown first.
func activityCommand(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("activity", "activity [NAME|ID] [--action ACTION] [-n N] [--follow] [--json]\n\n"+
		"Prints your audit log: every change made as you (sign-ins, tokens, deployments,\n"+
		"projects, secrets), who made it from where, and its result. With a deployment,\n"+
		"only what acted on it. --follow keeps printing new events until Ctrl-C.", env.Stderr)
	action := fs.String("action", "", "only this action (a method name such as SetSecret)")
	limit := fs.Int("n", 20, "how many of the latest events to print (1 to 200)")
	followNew := fs.Bool("follow", false, "keep printing new events")
	asJSON := fs.Bool("json", false, "print the API's JSON (one object per line with --follow)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError(fs, "name at most one deployment")
	}
	if *limit < 1 || *limit > 200 {
		return usageError(fs, "-n must be between 1 and 200")
	}
	c, _, err := session(env)
	if err != nil {
		return err
	}
	filter := &coderunnerv1.AuditFilter{Action: *action}
	if len(rest) == 1 {
		d, err := resolve(ctx, c, rest[0])
		if err != nil {
			return err
		}
		filter.TargetType, filter.TargetId = "deployment", d.GetId()
	}
	res, err := c.audit.ListAuditEvents(ctx, connect.NewRequest(&coderunnerv1.ListAuditEventsRequest{Filter: filter, PageSize: int32(*limit)}))
	if err != nil {
		return err
	}
	latest := res.Msg.GetEvents()
	if *asJSON && !*followNew {
		return printJSON(env.Stdout, res.Msg)
	}
	// Oldest first, as a log reads, and as new events follow.
	slices.Reverse(latest)
	var afterID int64
	if len(latest) > 0 {
		afterID = latest[len(latest)-1].GetId()
	}
	out := eventPrinter{w: env.Stdout, asJSON: *asJSON}
	for _, e := range latest {
		if err := out.print(e); err != nil {
			return err
		}
	}
	if len(latest) == 0 && !*asJSON {
		fmt.Fprintln(env.Stdout, "No activity yet.")
	}
	if !*followNew {
		return nil
	}
	return followActivity(ctx, c, filter, afterID, out)
}

// followActivity prints the events after afterID as they are written,
// until ctx ends (Ctrl-C) or the server closes the stream.
func followActivity(ctx context.Context, c clients, filter *coderunnerv1.AuditFilter, afterID int64, out eventPrinter) error {
	stream, err := c.audit.StreamAuditEvents(ctx, connect.NewRequest(&coderunnerv1.StreamAuditEventsRequest{Filter: filter, AfterId: afterID}))
	if err != nil {
		return err
	}
	defer func() { _ = stream.Close() }()
	for stream.Receive() {
		if e := stream.Msg().GetEvent(); e != nil {
			if err := out.print(e); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return stream.Err()
}

// eventPrinter prints events one line each: as text, or as JSON lines.
type eventPrinter struct {
	w      io.Writer
	asJSON bool
}

func (p eventPrinter) print(e *coderunnerv1.AuditEvent) error {
	if p.asJSON {
		data, err := protojson.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", data)
		return err
	}
	target := e.GetTargetType()
	if e.GetTargetId() != "" {
		target += " " + e.GetTargetId()
	}
	result := e.GetCode()
	if e.GetMessage() != "" {
		result += ": " + e.GetMessage()
	}
	by := e.GetActor()
	if e.GetTokenId() != "" {
		by += " (token)"
	}
	_, err := fmt.Fprintf(p.w, "%s  %-22s %-8s %s  by %s from %s  %s\n", e.GetTime().AsTime().Local().Format("2006-01-02 15:04:05"),
		methodOf(e.GetAction()), result, strings.TrimSpace(target), by, e.GetClientAddress(), e.GetSummary())
	return err
}

// methodOf shortens "/coderunner.v1.ConfigService/SetSecret" to
// "SetSecret".
func methodOf(procedure string) string {
	return procedure[strings.LastIndex(procedure, "/")+1:]
}
