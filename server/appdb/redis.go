package appdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Redis is a Redis server (6 or newer: ACLs) that hosts apps' databases:
// each database is a key prefix, <name>:, and ACL users, its logins, that
// reach only keys and channels under it.
type Redis struct {
	admin *redis.Client
	dial  func(ctx context.Context) (net.Conn, error)
}

// NewRedis returns the server opts reach as its admin (a user with every
// command, "default" on CodeRunner's own). dial, when nil, dials opts'
// address.
func NewRedis(opts *redis.Options, dial func(ctx context.Context) (net.Conn, error)) *Redis {
	if dial == nil {
		network, address := opts.Network, opts.Addr
		if network == "" {
			network = "tcp"
		}
		dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		}
	}
	opts.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) }
	return &Redis{admin: redis.NewClient(opts), dial: dial}
}

// ParseRedisURL reads an admin redis:// URL (or unix:// to a socket).
func ParseRedisURL(raw string) (*redis.Options, error) {
	if !strings.HasPrefix(raw, "redis://") && !strings.HasPrefix(raw, "unix://") {
		return nil, errors.New("the apps' Redis URL must start with redis:// or unix:// (TLS, rediss://, is not supported)")
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, fmt.Errorf("the apps' Redis URL: %w", err)
	}
	return opts, nil
}

// Close closes the admin connections.
func (r *Redis) Close() error { return r.admin.Close() }

// Dial connects to the server from the host.
func (r *Redis) Dial(ctx context.Context) (net.Conn, error) { return r.dial(ctx) }

// prefix is the key and channel prefix of database name.
func prefix(name string) string { return name + ":" }

// commandRules are a login's commands: everything but administration,
// what the ACL system calls dangerous (CONFIG, FLUSHALL, KEYS, INFO,
// DEBUG, ...), and what would let one tenant see or touch another's
// keyspace though key patterns hold (SCAN and RANDOMKEY list keys of
// every prefix, SELECT, MOVE and SWAPDB cross logical databases, FUNCTION
// and SCRIPT FLUSH act on server-wide state). A read-only database keeps
// DEL and UNLINK, so that the app can shrink it back under its quota.
func commandRules(readOnly bool) []any {
	rules := []any{"-@all", "+@all", "-@admin", "-@dangerous",
		"-scan", "-randomkey", "-dbsize", "-select", "-move", "-swapdb", "-function", "-script|flush", "-pubsub"}
	if readOnly {
		rules = append(rules, "-@write", "+del", "+unlink")
	}
	return rules
}

// Provision makes login, an ACL user that logs in with password and
// reaches only keys and channels under name's prefix.
func (r *Redis) Provision(ctx context.Context, name, login, password string, lim Limits) error {
	return r.AddLogin(ctx, name, login, password, lim)
}

// AddLogin makes another ACL user for name, with the commands its
// siblings have (a rotation of a read-only database stays read-only).
func (r *Redis) AddLogin(ctx context.Context, name, login, password string, _ Limits) error {
	args := []any{"ACL", "SETUSER", login, "reset", "on", ">" + password,
		"~" + prefix(name) + "*", "&" + prefix(name) + "*"}
	rules, err := r.siblingRules(ctx, name)
	if err != nil {
		return err
	}
	args = append(args, rules...)
	if err := r.admin.Do(ctx, args...).Err(); err != nil {
		return r.fail("add login", name, err)
	}
	return r.save(ctx)
}

// RemoveLogin deletes ACL user login; Redis disconnects its clients.
func (r *Redis) RemoveLogin(ctx context.Context, name, login string) error {
	if err := r.admin.Do(ctx, "ACL", "DELUSER", login).Err(); err != nil {
		return r.fail("remove login", name, err)
	}
	return r.save(ctx)
}

// RemoveLoginsExcept deletes every ACL user of name but keep.
func (r *Redis) RemoveLoginsExcept(ctx context.Context, name, keep string) error {
	logins, err := r.logins(ctx, name)
	if err != nil {
		return err
	}
	for _, l := range logins {
		if l != keep {
			if err := r.RemoveLogin(ctx, name, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// logins lists name's ACL users, <name>_<n>.
func (r *Redis) logins(ctx context.Context, name string) ([]string, error) {
	users, err := r.admin.Do(ctx, "ACL", "USERS").StringSlice()
	if err != nil {
		return nil, r.fail("list logins", name, err)
	}
	var mine []string
	for _, u := range users {
		if strings.HasPrefix(u, name+"_") {
			mine = append(mine, u)
		}
	}
	return mine, nil
}

// Drop deletes name's keys and its ACL users.
func (r *Redis) Drop(ctx context.Context, name string) error {
	logins, err := r.logins(ctx, name)
	if err != nil {
		return err
	}
	if len(logins) > 0 {
		if err := r.admin.Do(ctx, append([]any{"ACL", "DELUSER"}, toAny(logins)...)...).Err(); err != nil {
			return r.fail("remove logins", name, err)
		}
		if err := r.save(ctx); err != nil {
			return err
		}
	}
	return r.eachKey(ctx, name, 500, func(keys []string) error {
		return r.admin.Unlink(ctx, keys...).Err()
	})
}

// eachKey calls fn with name's keys, batch at a time, as SCAN finds them.
func (r *Redis) eachKey(ctx context.Context, name string, batch int64, fn func(keys []string) error) error {
	var cursor uint64
	for {
		keys, next, err := r.admin.Scan(ctx, cursor, prefix(name)+"*", batch).Result()
		if err != nil {
			return r.fail("scan keys", name, err)
		}
		if len(keys) > 0 {
			if err := fn(keys); err != nil {
				return r.fail("scan keys", name, err)
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// save writes the ACL users to the server's ACL file, so they outlive a
// restart. A server without one (its users live in its config or are
// made at start) answers that it has none; that is not an error here.
func (r *Redis) save(ctx context.Context) error {
	err := r.admin.Do(ctx, "ACL", "SAVE").Err()
	if err != nil && strings.Contains(err.Error(), "not configured to use an ACL file") {
		return nil
	}
	if err != nil {
		return r.fail("save the ACL", "", err)
	}
	return nil
}

// fail names what failed; a connection failure is an UnreachableError.
func (r *Redis) fail(what, name string, err error) error {
	var redisErr redis.Error
	if errors.As(err, &redisErr) {
		return fmt.Errorf("redis: %s %s: %w", what, name, err)
	}
	return &UnreachableError{Server: "Redis", Err: err}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// isNil reports Redis's "no such key" answer.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }
