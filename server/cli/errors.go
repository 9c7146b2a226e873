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
	violations := violationsOf(ce)
	if len(violations) == 0 {
		fmt.Fprintf(w, "error: %s: %s\n", ce.Code(), ce.Message())
		return
	}
	// The message of a validation error lists the violations already, all
	// on one line; they are printed one per line instead.
	fmt.Fprintf(w, "error: %s: the request has %d invalid field(s):\n", ce.Code(), len(violations))
	for _, violation := range violations {
		field := protovalidate.FieldPathString(violation.GetField())
		if field == "" {
			field = "(request)"
		}
		fmt.Fprintf(w, "  %s: %s\n", field, strings.TrimSpace(violation.GetMessage()))
	}
}

// violationsOf returns the field violations among an error's details.
func violationsOf(ce *connect.Error) []*validatepb.Violation {
	var all []*validatepb.Violation
	for _, d := range ce.Details() {
		if msg, err := d.Value(); err == nil {
			if v, ok := msg.(*validatepb.Violations); ok {
				all = append(all, v.GetViolations()...)
			}
		}
	}
	return all
}
