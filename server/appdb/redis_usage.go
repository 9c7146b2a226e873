package appdb

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// DescribeAll measures the databases names: the memory their keys use
// (MEMORY USAGE of each key under the prefix, with Redis's default
// sampling of large aggregates) and the clients logged in as their
// logins. A name with no login on the server is missing from the map.
func (r *Redis) DescribeAll(ctx context.Context, names []string) (map[string]Usage, error) {
	users, err := r.admin.Do(ctx, "ACL", "USERS").StringSlice()
	if err != nil {
		return nil, r.fail("list logins", "", err)
	}
	clients, err := r.admin.ClientList(ctx).Result()
	if err != nil {
		return nil, r.fail("list clients", "", err)
	}
	out := make(map[string]Usage, len(names))
	for _, name := range names {
		if !hasLoginOf(users, name) {
			continue
		}
		size, err := r.size(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = Usage{SizeBytes: size, Connections: clientsOf(clients, name)}
	}
	return out, nil
}

// size sums MEMORY USAGE over name's keys, a batch per round trip.
func (r *Redis) size(ctx context.Context, name string) (int64, error) {
	var total int64
	err := r.eachKey(ctx, name, 500, func(keys []string) error {
		pipe := r.admin.Pipeline()
		for _, k := range keys {
			pipe.MemoryUsage(ctx, k)
		}
		cmds, err := pipe.Exec(ctx)
		for _, c := range cmds {
			// A key that expired between SCAN and MEMORY USAGE is nil.
			if n, cerr := c.(*redis.IntCmd).Result(); cerr == nil {
				total += n
			}
		}
		if err != nil && !isNil(err) {
			return err
		}
		return nil
	})
	return total, err
}

// clientsOf counts the lines of CLIENT LIST whose user is one of name's
// logins.
func clientsOf(list, name string) int {
	n := 0
	for _, line := range strings.Split(list, "\n") {
		for _, field := range strings.Fields(line) {
			if user, ok := strings.CutPrefix(field, "user="); ok && strings.HasPrefix(user, name+"_") {
				n++
			}
		}
	}
	return n
}

func hasLoginOf(users []string, name string) bool {
	for _, u := range users {
		if strings.HasPrefix(u, name+"_") {
			return true
		}
	}
	return false
}

// SetReadOnly takes write commands from name's logins, or gives them
// back; Redis applies an ACL change to connected clients at once.
func (r *Redis) SetReadOnly(ctx context.Context, name string, readOnly bool) error {
	logins, err := r.logins(ctx, name)
	if err != nil {
		return err
	}
	for _, l := range logins {
		args := append([]any{"ACL", "SETUSER", l}, commandRules(readOnly)...)
		if err := r.admin.Do(ctx, args...).Err(); err != nil {
			return r.fail("set read-only", name, err)
		}
	}
	return r.save(ctx)
}

// siblingRules are the command rules name's logins have now, as ACL
// GETUSER gives them (a rule list ACL SETUSER takes back), or a new
// database's when it has none.
func (r *Redis) siblingRules(ctx context.Context, name string) ([]any, error) {
	logins, err := r.logins(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(logins) == 0 {
		return commandRules(false), nil
	}
	user, err := r.admin.Do(ctx, "ACL", "GETUSER", logins[0]).Result()
	if err != nil {
		return nil, r.fail("read login", name, err)
	}
	rules := strings.Fields(commandsOf(user))
	if len(rules) == 0 {
		return nil, fmt.Errorf("redis: login %s has no command rules", logins[0])
	}
	return append([]any{"-@all"}, toAny(rules)...), nil
}

// commandsOf picks the "commands" entry of an ACL GETUSER reply (a flat
// list in RESP2, a map in RESP3).
func commandsOf(reply any) string {
	switch v := reply.(type) {
	case map[any]any:
		s, _ := v["commands"].(string)
		return s
	case []any:
		for i := 0; i+1 < len(v); i += 2 {
			if k, _ := v[i].(string); k == "commands" {
				s, _ := v[i+1].(string)
				return s
			}
		}
	}
	return ""
}
