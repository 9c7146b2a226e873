package appdb

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server that hosts apps' databases, reached
// with an admin (superuser, or CREATEROLE and CREATEDB) URL.
type Postgres struct {
	adminURL string
	// dial reaches the server from the host: a sandbox's forwarder
	// carries each of the app's connections through it.
	dial func(ctx context.Context) (net.Conn, error)
	// binDir holds the server's client programs (pg_dump, psql); empty
	// means PATH's.
	binDir string
}

// NewPostgres returns the server adminURL names. dial, when nil, is worked
// out from the URL (its first host: a TCP address, or a unix socket
// directory). binDir holds the client programs matching the server;
// empty means PATH's.
func NewPostgres(adminURL string, dial func(ctx context.Context) (net.Conn, error), binDir string) (*Postgres, error) {
	cfg, err := pgx.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("the apps' PostgreSQL URL: %w", err)
	}
	if dial == nil {
		network, address := "tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
		if strings.HasPrefix(cfg.Host, "/") {
			network, address = "unix", fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port)
		}
		dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		}
	}
	return &Postgres{adminURL: adminURL, dial: dial, binDir: binDir}, nil
}

// Dial connects to the server from the host.
func (p *Postgres) Dial(ctx context.Context) (net.Conn, error) { return p.dial(ctx) }

// connect opens an admin connection to database (empty: the URL's).
func (p *Postgres) connect(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(p.adminURL)
	if err != nil {
		return nil, err
	}
	if database != "" {
		cfg.Database = database
	}
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) { return p.dial(ctx) }
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, &UnreachableError{Server: "PostgreSQL", Err: err}
	}
	return conn, nil
}

// UnreachableError is a failure to reach the server as its admin. Its
// detail (addresses, the admin's name) is for the server's log, not for
// the users whose request it failed.
type UnreachableError struct {
	Server string // PostgreSQL, Redis
	Err    error
}

func (e *UnreachableError) Error() string {
	return "connect to the apps' " + e.Server + ": " + e.Err.Error()
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Limits are the defaults every app database and login gets.
type Limits struct {
	Connections      int
	StatementTimeout time.Duration
	IdleInTxTimeout  time.Duration
	// MaxBytes is the size quota: a database measured over it turns
	// read-only until it is under it again. 0: none.
	MaxBytes int64
}

// Provision makes database name, owned by a role of the same name that
// cannot log in, and login, a role that logs in with password and acts
// as the owner (its sessions SET ROLE to it), so what the app creates
// belongs to the owner and outlives a rotation of the login role. Neither
// is superuser or may create roles or databases; only they may connect
// (CONNECT revoked from PUBLIC); the public schema is the owner's. A
// failure removes what it made.
func (p *Postgres) Provision(ctx context.Context, name, login, password string, lim Limits) (err error) {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	defer func() {
		if err != nil {
			_ = p.drop(context.WithoutCancel(ctx), admin, name)
		}
	}()
	owner := pgx.Identifier{name}.Sanitize()
	stmts := []string{
		fmt.Sprintf("CREATE ROLE %s NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS", owner),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s ENCODING 'UTF8' TEMPLATE template0", owner, owner),
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", owner),
		fmt.Sprintf("GRANT CONNECT, TEMPORARY ON DATABASE %s TO %s", owner, owner),
	}
	if err := execAll(ctx, admin, name, stmts); err != nil {
		return err
	}
	if err := p.addLogin(ctx, admin, name, login, password, lim); err != nil {
		return err
	}
	inDB, err := p.connect(ctx, name)
	if err != nil {
		return err
	}
	defer func() { _ = inDB.Close(context.WithoutCancel(ctx)) }()
	return execAll(ctx, inDB, name, []string{
		"REVOKE ALL ON SCHEMA public FROM PUBLIC",
		fmt.Sprintf("ALTER SCHEMA public OWNER TO %s", owner),
	})
}

// AddLogin makes another login role for database name's owner: the next
// credentials of a rotation.
func (p *Postgres) AddLogin(ctx context.Context, name, login, password string, lim Limits) error {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	return p.addLogin(ctx, admin, name, login, password, lim)
}

func (p *Postgres) addLogin(ctx context.Context, admin *pgx.Conn, name, login, password string, lim Limits) error {
	owner, role := pgx.Identifier{name}.Sanitize(), pgx.Identifier{login}.Sanitize()
	return execAll(ctx, admin, name, []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s CONNECTION LIMIT %d NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS IN ROLE %s",
			role, literal(password), lim.Connections, owner),
		fmt.Sprintf("ALTER ROLE %s SET role = %s", role, literal(name)),
		fmt.Sprintf("ALTER ROLE %s SET statement_timeout = %d", role, lim.StatementTimeout.Milliseconds()),
		fmt.Sprintf("ALTER ROLE %s SET idle_in_transaction_session_timeout = %d", role, lim.IdleInTxTimeout.Milliseconds()),
	})
}

// RemoveLogin drops login role login of database name, ending its
// sessions; what it owns (an app that reset its role) passes to the
// owner first.
func (p *Postgres) RemoveLogin(ctx context.Context, name, login string) error {
	inDB, err := p.connect(ctx, name)
	if err != nil {
		return err
	}
	owner, role := pgx.Identifier{name}.Sanitize(), pgx.Identifier{login}.Sanitize()
	err = execAll(ctx, inDB, name, []string{
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = " + literal(login),
		fmt.Sprintf("REASSIGN OWNED BY %s TO %s", role, owner),
		fmt.Sprintf("DROP OWNED BY %s", role),
		fmt.Sprintf("DROP ROLE %s", role),
	})
	_ = inDB.Close(context.WithoutCancel(ctx))
	return err
}

// RemoveLoginsExcept drops every login role of database name but keep,
// ending their sessions.
func (p *Postgres) RemoveLoginsExcept(ctx context.Context, name, keep string) error {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	roles, err := loginsOf(ctx, admin, name)
	_ = admin.Close(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	for _, role := range roles {
		if role == keep {
			continue
		}
		if err := p.RemoveLogin(ctx, name, role); err != nil {
			return err
		}
	}
	return nil
}

// loginsOf lists the login roles of database name: <name>_<n>.
func loginsOf(ctx context.Context, admin *pgx.Conn, name string) ([]string, error) {
	rows, err := admin.Query(ctx, "SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1 || '_')", name)
	if err != nil {
		return nil, fmt.Errorf("list the logins of %s: %w", name, err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the logins of %s: %w", name, err)
	}
	return roles, nil
}

// Drop removes database name, its owner and login roles, closing open
// connections. What is already gone is not an error.
func (p *Postgres) Drop(ctx context.Context, name string) error {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	return p.drop(ctx, admin, name)
}

func (p *Postgres) drop(ctx context.Context, admin *pgx.Conn, name string) error {
	// WITH (FORCE) (PostgreSQL 13+) ends the sessions still open on it.
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", pgx.Identifier{name}.Sanitize())); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	roles, err := loginsOf(ctx, admin, name)
	if err != nil {
		return err
	}
	// The logins first: they are members of the owner.
	roles = append(roles, name)
	for _, role := range roles {
		if _, err := admin.Exec(ctx, fmt.Sprintf("DROP ROLE IF EXISTS %s", pgx.Identifier{role}.Sanitize())); err != nil {
			return fmt.Errorf("drop role %s: %w", role, err)
		}
	}
	return nil
}

// execAll runs stmts in order on conn, naming database in an error.
func execAll(ctx context.Context, conn *pgx.Conn, database string, stmts []string) error {
	for _, stmt := range stmts {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("provision database %s: %w", database, err)
		}
	}
	return nil
}

// Usage is what Describe measures of a database.
type Usage struct {
	SizeBytes   int64
	Connections int
}

// DescribeAll measures the databases names, with one admin connection
// and one query; a name missing on the server is missing from the map.
func (p *Postgres) DescribeAll(ctx context.Context, names []string) (map[string]Usage, error) {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return nil, err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	rows, err := admin.Query(ctx, `SELECT d.datname, pg_database_size(d.datname),
  (SELECT count(*) FROM pg_stat_activity AS a WHERE a.datname = d.datname)
FROM pg_database AS d WHERE d.datname = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("measure databases: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Usage, len(names))
	for rows.Next() {
		var name string
		var u Usage
		if err := rows.Scan(&name, &u.SizeBytes, &u.Connections); err != nil {
			return nil, fmt.Errorf("measure databases: %w", err)
		}
		out[name] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("measure databases: %w", err)
	}
	return out, nil
}

// literal quotes s as an SQL string literal (CREATE ROLE takes no bind
// parameters).
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
