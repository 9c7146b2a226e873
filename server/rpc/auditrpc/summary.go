package auditrpc

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Summaries stay short: an event says what was asked, not every byte.
const (
	maxSummary     = 1000
	maxStringValue = 80
	maxListed      = 10
	maxDepth       = 3
)

// summarize writes msg's set fields as "name=value" pairs. Fields marked
// debug_redact in the proto (passwords, secret values, .env text) show as
// [redacted]; bytes as their size; lists of messages as their count; maps
// as their keys (env var names, never values).
func summarize(msg protoreflect.Message) string {
	s := fields(msg, 0)
	if len(s) > maxSummary {
		s = s[:maxSummary] + "…"
	}
	return s
}

func fields(msg protoreflect.Message, depth int) string {
	var parts []string
	msg.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		parts = append(parts, string(fd.Name())+"="+field(fd, v, depth))
		return true
	})
	// Range's order is undefined; events read the same every time.
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func redacted(fd protoreflect.FieldDescriptor) bool {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	return ok && opts.GetDebugRedact()
}

func field(fd protoreflect.FieldDescriptor, v protoreflect.Value, depth int) string {
	switch {
	case redacted(fd):
		return "[redacted]"
	case fd.IsMap():
		var keys []string
		v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k.String())
			return true
		})
		slices.Sort(keys)
		return "{" + strings.Join(keys, ",") + "}"
	case fd.IsList():
		list := v.List()
		if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.BytesKind || list.Len() > maxListed {
			return fmt.Sprintf("[%d items]", list.Len())
		}
		items := make([]string, list.Len())
		for i := range items {
			items[i] = scalar(fd, list.Get(i))
		}
		return "[" + strings.Join(items, ",") + "]"
	case fd.Kind() == protoreflect.MessageKind:
		if depth >= maxDepth {
			return "{…}"
		}
		return "{" + fields(v.Message(), depth+1) + "}"
	}
	return scalar(fd, v)
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.BytesKind:
		return fmt.Sprintf("(%d bytes)", len(v.Bytes()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return fmt.Sprint(v.Enum())
	case protoreflect.StringKind:
		s := v.String()
		if r := []rune(s); len(r) > maxStringValue {
			s = string(r[:maxStringValue]) + "…"
		}
		if strings.ContainsAny(s, " \t\n\"") || s == "" {
			return fmt.Sprintf("%q", s)
		}
		return s
	}
	return v.String()
}
