package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

// printJSON writes msg as the API's JSON (camelCase field names).
func printJSON(w io.Writer, msg proto.Message) error {
	data, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(msg)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return err
}

// statusName is DEPLOYMENT_STATUS_RUNNING as "running".
func statusName(s coderunnerv1.DeploymentStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "DEPLOYMENT_STATUS_"))
}

func printTable(w io.Writer, ds []*coderunnerv1.Deployment) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATUS\tURL\tID")
	for _, d := range ds {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.GetName(), statusName(d.GetStatus()), d.GetUrl(), d.GetId())
	}
	tw.Flush()
}

func printDeployment(w io.Writer, d *coderunnerv1.Deployment) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	row("Name", d.GetName())
	row("ID", d.GetId())
	row("Status", statusName(d.GetStatus()))
	row("Reason", d.GetStatusReason())
	row("URL", d.GetUrl())
	row("Runtime", strings.ToLower(strings.TrimPrefix(d.GetRuntime().String(), "RUNTIME_")))
	row("Revision", fmt.Sprint(d.GetRevision()))
	row("Replicas", fmt.Sprint(d.GetReplicas()))
	if d.GetStartedAt() != nil {
		row("Started", d.GetStartedAt().AsTime().Local().Format(time.RFC3339))
	}
	row("Restarts", fmt.Sprint(d.GetRestartCount()))
	tw.Flush()
}

// printLogLine writes one log entry as "time phase[/replica] text".
func printLogLine(w io.Writer, e *coderunnerv1.LogEntry) {
	phase := strings.ToLower(strings.TrimPrefix(e.GetPhase().String(), "LOG_PHASE_"))
	if e.GetPhase() == coderunnerv1.LogPhase_LOG_PHASE_RUN {
		phase = fmt.Sprintf("run/%d", e.GetReplica())
	}
	if e.GetStream() == coderunnerv1.LogStream_LOG_STREAM_SYSTEM {
		phase = "coderunner"
	}
	fmt.Fprintf(w, "%s %-10s %s\n", e.GetTime().AsTime().Local().Format("15:04:05"), phase, e.GetText())
}
