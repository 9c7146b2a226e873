package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// normalize checks v, one JSON value decoded with UseNumber (or, for json
// fields, a json.RawMessage or any value json.Marshal takes), against the
// field's type and rules other than unique and ref existence. It returns the
// value to store, or a message for the caller. A nil v yields (nil, "").
func (f *Field) normalize(v any) (any, string) {
	switch x := v.(type) {
	case nil:
		return nil, ""
	case float64: // from a Manifest decoded from JSON without UseNumber
		v = json.Number(formatNumber(x))
	case int:
		v = json.Number(strconv.Itoa(x))
	case int64:
		v = json.Number(strconv.FormatInt(x, 10))
	}
	if raw, ok := v.(json.RawMessage); ok && f.Type != TypeJSON {
		var err error
		if v, err = decodeJSONValue(raw); err != nil {
			return nil, "is not valid JSON"
		}
		if v == nil {
			return nil, ""
		}
	}
	check, ok := normalizers[f.Type]
	if !ok {
		return nil, "has an unknown type"
	}
	return check(f, v)
}

// normalizers check a value of each type; a nil value never reaches them.
var normalizers = map[Type]func(*Field, any) (any, string){
	TypeString:  (*Field).normalizeText,
	TypeText:    (*Field).normalizeText,
	TypeEnum:    (*Field).normalizeEnum,
	TypeRef:     (*Field).normalizeRef,
	TypeDate:    (*Field).normalizeDate,
	TypeBoolean: (*Field).normalizeBoolean,
	TypeNumber:  (*Field).normalizeNumber,
	TypeInteger: (*Field).normalizeInteger,
	TypeJSON:    (*Field).normalizeJSON,
}

func (f *Field) normalizeText(v any) (any, string) {
	s, ok := v.(string)
	if !ok {
		return nil, "must be a string"
	}
	n := utf8.RuneCountInString(s)
	if f.Min != nil && float64(n) < *f.Min {
		return nil, "must be at least " + formatNumber(*f.Min) + " characters long"
	}
	if f.Max != nil && float64(n) > *f.Max {
		return nil, "must be at most " + formatNumber(*f.Max) + " characters long"
	}
	if f.re != nil && !f.re.MatchString(s) {
		return nil, "must match the pattern " + f.Pattern
	}
	return s, ""
}

func (f *Field) normalizeEnum(v any) (any, string) {
	s, ok := v.(string)
	if !ok || !slices.Contains(f.Enum, s) {
		return nil, "must be one of: " + strings.Join(f.Enum, ", ")
	}
	return s, ""
}

func (f *Field) normalizeRef(v any) (any, string) {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil, "must be the id (a string) of a " + f.Ref
	}
	return s, ""
}

// normalizeDate stores a date in dateLayout.
func (f *Field) normalizeDate(v any) (any, string) {
	s, ok := v.(string)
	if !ok {
		return nil, "must be an RFC 3339 date-time or date string, like 2024-05-01T12:00:00Z"
	}
	d, ok := parseDate(s)
	if !ok {
		return nil, "must be an RFC 3339 date-time or date, like 2024-05-01T12:00:00Z"
	}
	return d, ""
}

// normalizeBoolean stores a boolean as 0 or 1.
func (f *Field) normalizeBoolean(v any) (any, string) {
	b, ok := v.(bool)
	if !ok {
		return nil, "must be a boolean"
	}
	if b {
		return int64(1), ""
	}
	return int64(0), ""
}

func (f *Field) normalizeNumber(v any) (any, string) {
	num, ok := v.(json.Number)
	if !ok {
		return nil, "must be a number"
	}
	x, err := strconv.ParseFloat(string(num), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return nil, "is out of range"
	}
	if msg := f.checkBounds(x); msg != "" {
		return nil, msg
	}
	return x, ""
}

// normalizeInteger takes a whole number in any JSON notation (3, 3.0, 3e0)
// that fits in 64 bits.
func (f *Field) normalizeInteger(v any) (any, string) {
	num, ok := v.(json.Number)
	if !ok {
		return nil, "must be an integer"
	}
	i, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil, "is out of the 64-bit integer range"
		}
		x, ferr := strconv.ParseFloat(string(num), 64)
		if ferr != nil || x != math.Trunc(x) {
			return nil, "must be an integer"
		}
		if x < -9.223372036854775808e18 || x >= 9.223372036854775808e18 {
			return nil, "is out of the 64-bit integer range"
		}
		i = int64(x)
	}
	if msg := f.checkBounds(float64(i)); msg != "" {
		return nil, msg
	}
	return i, ""
}

// normalizeJSON stores any JSON value, compacted; JSON null is no value.
func (f *Field) normalizeJSON(v any) (any, string) {
	var raw []byte
	if r, ok := v.(json.RawMessage); ok {
		raw = r
	} else {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return nil, "is not a JSON value"
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, "is not valid JSON"
	}
	if buf.String() == "null" {
		return nil, ""
	}
	return buf.String(), ""
}

func (f *Field) checkBounds(x float64) string {
	if f.Min != nil && x < *f.Min {
		return "must be at least " + formatNumber(*f.Min)
	}
	if f.Max != nil && x > *f.Max {
		return "must be at most " + formatNumber(*f.Max)
	}
	return ""
}

// decodeJSONValue decodes one JSON value with numbers as json.Number.
func decodeJSONValue(raw []byte) (any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, errors.New("empty")
	}
	// The fast paths cover the scalars a record is mostly made of; the
	// whole body was checked as JSON before, so tokens are well formed.
	switch c := raw[0]; {
	case c == 'n':
		return nil, nil
	case c == 't':
		return true, nil
	case c == 'f':
		return false, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return json.Number(raw), nil
	case c == '"' && len(raw) >= 2 && raw[len(raw)-1] == '"':
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 && bytes.IndexByte(inner, '"') < 0 && utf8.Valid(inner) {
			return string(inner), nil
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

// storedToJSON turns a value read from the field's column back into what
// normalize takes, to check stored data against changed rules.
func storedToJSON(f *Field, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		v = string(x)
	}
	switch f.Type {
	case TypeBoolean:
		if i, ok := v.(int64); ok {
			return i != 0
		}
	case TypeNumber, TypeInteger:
		switch x := v.(type) {
		case int64:
			return json.Number(strconv.FormatInt(x, 10))
		case float64:
			return json.Number(formatNumber(x))
		}
	case TypeJSON:
		if s, ok := v.(string); ok {
			return json.RawMessage(s)
		}
	}
	return v
}
