package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns TEST_REDIS_URL, an admin URL of a Redis (6+) the test may
// add ACL users and prefixed keys to, once it answers a PING. Without it
// the test is skipped, except under CI=true, where it fails: CI must run
// the Redis tests.
func Redis(t testing.TB) string {
	t.Helper()
	raw := os.Getenv("TEST_REDIS_URL")
	ci := os.Getenv("CI") == "true"
	if raw == "" {
		if ci {
			t.Fatal("CI=true but TEST_REDIS_URL is not set: the Redis tests must run in CI")
		}
		t.Skip("TEST_REDIS_URL not set: skipping Redis")
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		t.Fatalf("parse TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	defer func() { _ = client.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		if ci {
			t.Fatalf("CI=true and Redis at TEST_REDIS_URL is unreachable: %v", err)
		}
		t.Skipf("Redis unreachable, skipping it: %v", err)
	}
	return raw
}
