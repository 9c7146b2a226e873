package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// dateLayout is how dates and timestamps are stored: UTC with a fixed width,
// so that text order is time order.
const dateLayout = "2006-01-02T15:04:05.000000000Z"

// parseDate reads an RFC 3339 date-time, or a full date (midnight UTC), and
// returns its stored form.
func parseDate(s string) (string, bool) {
	var t time.Time
	var err error
	if len(s) == len("2006-01-02") {
		t, err = time.Parse("2006-01-02", s)
	} else {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return "", false
	}
	t = t.UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return "", false
	}
	return t.Format(dateLayout), true
}

// formatTime is the stored form of t.
func formatTime(t time.Time) string { return t.UTC().Format(dateLayout) }

// displayDate turns a stored date into RFC 3339 as served: the fraction of
// seconds loses its trailing zeros, and its dot when nothing is left.
func displayDate(s string) string {
	if len(s) != len(dateLayout) || s[19] != '.' {
		return s // not written by this package; serve it as it is
	}
	end := len(s) - 1 // the Z
	i := end
	for i > 20 && s[i-1] == '0' {
		i--
	}
	if i == 20 {
		return s[:19] + "Z"
	}
	return s[:i] + "Z"
}

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
	switch f.Type {
	case TypeString, TypeText:
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
	case TypeEnum:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Enum, s) {
			return nil, "must be one of: " + strings.Join(f.Enum, ", ")
		}
		return s, ""
	case TypeRef:
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, "must be the id (a string) of a " + f.Ref
		}
		return s, ""
	case TypeDate:
		s, ok := v.(string)
		if !ok {
			return nil, "must be an RFC 3339 date-time or date string, like 2024-05-01T12:00:00Z"
		}
		d, ok := parseDate(s)
		if !ok {
			return nil, "must be an RFC 3339 date-time or date, like 2024-05-01T12:00:00Z"
		}
		return d, ""
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, "must be a boolean"
		}
		if b {
			return int64(1), ""
		}
		return int64(0), ""
	case TypeNumber:
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
	case TypeInteger:
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
	case TypeJSON:
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
	return nil, "has an unknown type"
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

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendFloat appends f as encoding/json does.
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendValue appends a stored value of field type t as JSON.
func appendValue(b []byte, t Type, v any) []byte {
	if bs, ok := v.([]byte); ok {
		v = string(bs)
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		switch t {
		case TypeJSON:
			return append(b, x...)
		case TypeDate:
			return appendJSONString(b, displayDate(x))
		}
		return appendJSONString(b, x)
	case int64:
		switch t {
		case TypeBoolean:
			if x != 0 {
				return append(b, "true"...)
			}
			return append(b, "false"...)
		case TypeNumber:
			return appendFloat(b, float64(x))
		}
		return strconv.AppendInt(b, x, 10)
	case float64:
		if t == TypeInteger && x == math.Trunc(x) && math.Abs(x) < 1<<63 {
			return strconv.AppendInt(b, int64(x), 10)
		}
		return appendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		return appendJSONString(b, x.UTC().Format(time.RFC3339Nano))
	}
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}
