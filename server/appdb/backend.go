package appdb

import (
	"context"
	"io"
	"net"
)

// Backend is a database server of one engine, as the service drives it.
// A database is known by its name (nameFor the deployment); its logins
// are <name>_<n>, the n-th credentials.
type Backend interface {
	// Provision makes database name with its first login; a failure
	// removes what it made.
	Provision(ctx context.Context, name, login, password string, lim Limits) error
	// AddLogin makes another login for name: a rotation's next.
	AddLogin(ctx context.Context, name, login, password string, lim Limits) error
	// RemoveLogin drops one login, ending its sessions.
	RemoveLogin(ctx context.Context, name, login string) error
	// RemoveLoginsExcept drops every login of name but keep.
	RemoveLoginsExcept(ctx context.Context, name, keep string) error
	// Drop removes name, its data and its logins; what is gone already is
	// not an error.
	Drop(ctx context.Context, name string) error
	// DescribeAll measures the databases names; one missing on the server
	// is missing from the map.
	DescribeAll(ctx context.Context, names []string) (map[string]Usage, error)
	// SetReadOnly makes name refuse writes (over its size quota) or lets
	// it write again.
	SetReadOnly(ctx context.Context, name string, readOnly bool) error
	// Export writes name's contents to w as login sees them.
	Export(ctx context.Context, name, login, password string, w io.Writer) error
	// Import loads what Export wrote (or, for PostgreSQL, any SQL), all of
	// it or none: a bad part is an *ImportError.
	Import(ctx context.Context, name, login, password string, data []byte) error
	// Dial connects to the server from the host, for a sandbox's
	// forwarder.
	Dial(ctx context.Context) (net.Conn, error)
	// App describes what the app sees of database name.
	App() AppView
}

// AppView is how an app reaches a database of an engine inside its
// sandbox.
type AppView struct {
	// Port is where the forwarder listens, on 127.0.0.1.
	Port int
	// Variables are the app's environment for name and login: env is
	// plain, secrets are masked in logs.
	Variables func(name, login, password string) (env, secrets map[string]string)
	// URLVariable names the variable holding the app's URL.
	URLVariable string
	// ShownURL is the app's URL with the password [redacted].
	ShownURL func(name, login string) string
	// CapInForwarder is set for a server that cannot cap a login's
	// connections itself: the forwarders do, across the replicas.
	CapInForwarder bool
}

// Servers returns the server of engine, starting it first if it is
// CodeRunner's own and not running yet.
type Servers func(ctx context.Context, engine Engine) (Backend, error)
