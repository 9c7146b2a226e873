package appdb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Postgres is a PostgreSQL server that hosts apps' databases, reached
// with an admin (superuser, or CREATEROLE and CREATEDB) URL.
type Postgres struct {
	adminURL string
	// dial reaches the server from the host: a sandbox's forwarder
	// carries each of the app's connections through it.
	dial func(ctx context.Context) (net.Conn, error)
}

// NewPostgres returns the server adminURL names. dial, when nil, is worked
// out from the URL (its first host: a TCP address, or a unix socket
// directory).
func NewPostgres(adminURL string, dial func(ctx context.Context) (net.Conn, error)) (*Postgres, error) {
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
	return &Postgres{adminURL: adminURL, dial: dial}, nil
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
		return nil, fmt.Errorf("connect to the apps' PostgreSQL: %w", err)
	}
	return conn, nil
}

// Limits are the defaults every app role gets.
type Limits struct {
	Connections      int
	StatementTimeout time.Duration
	IdleInTxTimeout  time.Duration
}

// Provision makes database name owned by a new role of the same name that
// logs in with password: no superuser, createrole or createdb; its own
// database only (CONNECT revoked from PUBLIC); its public schema its own.
// A failure removes what it made.
func (p *Postgres) Provision(ctx context.Context, name, password string, lim Limits) (err error) {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	ident := pgx.Identifier{name}.Sanitize()
	defer func() {
		if err != nil {
			_ = p.drop(context.WithoutCancel(ctx), admin, name)
		}
	}()
	for _, stmt := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD %s CONNECTION LIMIT %d NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
			ident, literal(password), lim.Connections),
		fmt.Sprintf("ALTER ROLE %s SET statement_timeout = %d", ident, lim.StatementTimeout.Milliseconds()),
		fmt.Sprintf("ALTER ROLE %s SET idle_in_transaction_session_timeout = %d", ident, lim.IdleInTxTimeout.Milliseconds()),
		fmt.Sprintf("CREATE DATABASE %s OWNER %s ENCODING 'UTF8' TEMPLATE template0", ident, ident),
		fmt.Sprintf("REVOKE ALL ON DATABASE %s FROM PUBLIC", ident),
		fmt.Sprintf("GRANT CONNECT, TEMPORARY ON DATABASE %s TO %s", ident, ident),
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("provision database %s: %w", name, err)
		}
	}
	inDB, err := p.connect(ctx, name)
	if err != nil {
		return err
	}
	defer func() { _ = inDB.Close(context.WithoutCancel(ctx)) }()
	for _, stmt := range []string{
		"REVOKE ALL ON SCHEMA public FROM PUBLIC",
		fmt.Sprintf("ALTER SCHEMA public OWNER TO %s", ident),
	} {
		if _, err := inDB.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("provision database %s: %w", name, err)
		}
	}
	return nil
}

// Drop removes database name and its role, closing open connections. A
// database or role already gone is not an error.
func (p *Postgres) Drop(ctx context.Context, name string) error {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	return p.drop(ctx, admin, name)
}

func (p *Postgres) drop(ctx context.Context, admin *pgx.Conn, name string) error {
	ident := pgx.Identifier{name}.Sanitize()
	// WITH (FORCE) (PostgreSQL 13+) ends the sessions still open on it.
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", ident)); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("DROP ROLE IF EXISTS %s", ident)); err != nil {
		return fmt.Errorf("drop role %s: %w", name, err)
	}
	return nil
}

// Usage is what Describe measures of a database.
type Usage struct {
	SizeBytes   int64
	Connections int
}

// Describe measures database name now.
func (p *Postgres) Describe(ctx context.Context, name string) (Usage, error) {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return Usage{}, err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	var u Usage
	err = admin.QueryRow(ctx, `SELECT pg_database_size($1::text),
  (SELECT count(*) FROM pg_stat_activity WHERE datname = $1::text)`, name).Scan(&u.SizeBytes, &u.Connections)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		return Usage{}, fmt.Errorf("database %s is missing on its server", name)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("describe database %s: %w", name, err)
	}
	return u, nil
}

// literal quotes s as an SQL string literal (CREATE ROLE takes no bind
// parameters).
func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
