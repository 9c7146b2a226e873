package appdb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
)

// redisEntry is one line of a Redis export: a key without the
// database's prefix (so the export loads into any database), its time to
// live (0: none) and its value in Redis's DUMP serialisation (the RDB
// encoding of one value, with its version and checksum), base64. A key
// that is not UTF-8 is in KeyBase64 instead of Key.
type redisEntry struct {
	Key       string `json:"key,omitempty"`
	KeyBase64 string `json:"key_base64,omitempty"`
	TTLMillis int64  `json:"ttl_ms"`
	Dump      string `json:"dump"`
}

// Export writes name's keys to w as JSON lines, one redisEntry per key,
// read by the admin under name's prefix only (an app's login may not
// SCAN).
func (r *Redis) Export(ctx context.Context, name, _, _ string, w io.Writer) error {
	enc := json.NewEncoder(w)
	return r.eachKey(ctx, name, 100, func(keys []string) error {
		pipe := r.admin.Pipeline()
		dumps := make([]*redis.StringCmd, len(keys))
		ttls := make([]*redis.DurationCmd, len(keys))
		for i, k := range keys {
			dumps[i], ttls[i] = pipe.Dump(ctx, k), pipe.PTTL(ctx, k)
		}
		if _, err := pipe.Exec(ctx); err != nil && !isNil(err) {
			return err
		}
		for i, k := range keys {
			dump, err := dumps[i].Result()
			if isNil(err) {
				continue // expired since SCAN found it
			}
			if err != nil {
				return err
			}
			e := redisEntry{Dump: base64.StdEncoding.EncodeToString([]byte(dump))}
			if ttl := ttls[i].Val(); ttl > 0 {
				e.TTLMillis = ttl.Milliseconds()
			}
			if rel := strings.TrimPrefix(k, prefix(name)); utf8.ValidString(rel) {
				e.Key = rel
			} else {
				e.KeyBase64 = base64.StdEncoding.EncodeToString([]byte(rel))
			}
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// Import loads an export's lines into name, all or none: every value is
// first restored under a staging key of name's own, and only when all
// have been are they renamed to their keys, in one MULTI (existing keys
// are replaced). A line that does not parse or restore is an ImportError
// naming it, and the staged keys go.
func (r *Redis) Import(ctx context.Context, name, _, _ string, data []byte) error {
	entries, err := parseRedisExport(data)
	if err != nil {
		return err
	}
	stage := fmt.Sprintf("%scoderunner-import:%d:", prefix(name), time.Now().UnixNano())
	staged := make([]string, 0, len(entries))
	unstage := func() {
		if len(staged) > 0 {
			_ = r.admin.Unlink(context.WithoutCancel(ctx), staged...).Err()
		}
	}
	for i, e := range entries {
		key := stage + strconv.Itoa(i)
		dump, _ := base64.StdEncoding.DecodeString(e.Dump)
		if err := r.admin.Restore(ctx, key, time.Duration(e.TTLMillis)*time.Millisecond, string(dump)).Err(); err != nil {
			unstage()
			if _, ok := err.(redis.Error); ok {
				return &ImportError{Line: e.line, Message: err.Error()}
			}
			return r.fail("import", name, err)
		}
		staged = append(staged, key)
	}
	_, err = r.admin.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, e := range entries {
			p.Rename(ctx, staged[i], prefix(name)+e.key)
		}
		return nil
	})
	if err != nil {
		unstage()
		return r.fail("import", name, err)
	}
	return nil
}

// parsedEntry is a redisEntry with its key decoded and its line.
type parsedEntry struct {
	redisEntry
	key  string
	line int
}

// parseRedisExport reads an export's JSON lines; blank lines are skipped.
func parseRedisExport(data []byte) ([]parsedEntry, error) {
	var out []parsedEntry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), len(data)+1)
	for line := 1; sc.Scan(); line++ {
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		var e parsedEntry
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e.redisEntry); err != nil {
			return nil, &ImportError{Line: line, Message: "not a Redis export line (JSON with key, ttl_ms and dump): " + err.Error()}
		}
		e.line, e.key = line, e.Key
		if e.KeyBase64 != "" {
			k, err := base64.StdEncoding.DecodeString(e.KeyBase64)
			if err != nil {
				return nil, &ImportError{Line: line, Message: "key_base64 is not base64"}
			}
			e.key = string(k)
		}
		if e.key == "" {
			return nil, &ImportError{Line: line, Message: "the line names no key"}
		}
		if _, err := base64.StdEncoding.DecodeString(e.Dump); err != nil || e.Dump == "" {
			return nil, &ImportError{Line: line, Message: "dump is not a base64 DUMP value"}
		}
		if e.TTLMillis < 0 {
			return nil, &ImportError{Line: line, Message: "ttl_ms is negative"}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, &ImportError{Message: err.Error()}
	}
	return out, nil
}
