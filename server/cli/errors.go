package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"buf.build/go/protovalidate"
	"connectrpc.com/connect"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
)

// printError writes err for a person: a Connect error as its code and the
// server's message, then each field violation on a line of its own.
func printError(w io.Writer, err error) {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		fmt.Fprintln(w, "error:", err)
		return
	}
	fmt.Fprintf(w, "error: %s: %s\n", ce.Code(), ce.Message())
	for _, d := range ce.Details() {
		msg, err := d.Value()
		if err != nil {
			continue
		}
		v, ok := msg.(*validatepb.Violations)
		if !ok {
			continue
		}
		for _, violation := range v.GetViolations() {
			field := protovalidate.FieldPathString(violation.GetField())
			if field == "" {
				field = "(request)"
			}
			fmt.Fprintf(w, "  %s: %s\n", field, strings.TrimSpace(violation.GetMessage()))
		}
	}
}
