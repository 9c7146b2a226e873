package appdb

import (
	"context"
	"net"
	"testing"
)

// TestConnCap: past the limit a dial fails; closing a connection (twice
// is once) frees its slot; the count is per database.
func TestConnCap(t *testing.T) {
	var c connCounter
	pipe := func(context.Context) (net.Conn, error) { a, _ := net.Pipe(); return a, nil }
	dial := c.capped("app_a", 2, pipe)
	ctx := context.Background()
	first, err := dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(ctx); err == nil {
		t.Fatal("a third connection past a limit of 2 was dialled")
	}
	if _, err := c.capped("app_b", 2, pipe)(ctx); err != nil {
		t.Fatalf("another database's connection: %v", err)
	}
	_ = first.Close()
	_ = first.Close()
	if _, err := dial(ctx); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	if _, err := dial(ctx); err == nil {
		t.Fatal("a double close freed two slots")
	}
}
