package appdb

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// connCounter counts the connections the forwarders hold open to each
// database, for servers that cannot cap a login's connections (Redis has
// no per-user limit): the count is per database, so it holds across
// replicas and across a rotation's two logins.
type connCounter struct {
	mu   sync.Mutex
	open map[string]int
}

// capped wraps dial so that at most limit connections to database name
// are open at once; past that, dial fails and the forwarder closes the
// app's connection, as a server refusing it would.
func (c *connCounter) capped(name string, limit int, dial func(context.Context) (net.Conn, error)) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		c.mu.Lock()
		if c.open == nil {
			c.open = map[string]int{}
		}
		if c.open[name] >= limit {
			c.mu.Unlock()
			return nil, fmt.Errorf("database %s has its %d connections open", name, limit)
		}
		c.open[name]++
		c.mu.Unlock()
		conn, err := dial(ctx)
		if err != nil {
			c.release(name)
			return nil, err
		}
		return &countedConn{Conn: conn, release: func() { c.release(name) }}, nil
	}
}

func (c *connCounter) release(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open[name]--; c.open[name] <= 0 {
		delete(c.open, name)
	}
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// CloseWrite passes an app's half-close on, as the forwarder expects of a
// unix or TCP connection.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
