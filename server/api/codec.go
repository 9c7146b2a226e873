package api

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// strictJSONCodec replaces Connect's default JSON codec, which silently
// drops unknown fields. A misspelled field ("pasword") must be an error a
// person sees, not a request that quietly means something else.
type strictJSONCodec struct{ name string }

func (c strictJSONCodec) Name() string { return c.name }

func (c strictJSONCodec) Marshal(msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("%T is not a proto.Message", msg)
	}
	return protojson.Marshal(m)
}

func (c strictJSONCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("%T is not a proto.Message", msg)
	}
	if len(data) == 0 {
		// An empty body is an empty message, as with Connect's own codec:
		// `curl -d ''` works for requests without fields.
		proto.Reset(m)
		return nil
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(data, m); err != nil {
		return fmt.Errorf("request body is not a valid JSON %s: %w", m.ProtoReflect().Descriptor().Name(), err)
	}
	return nil
}
