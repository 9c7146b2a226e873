package appdb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// clientEnv is the libpq environment of a client (pg_dump, psql) that
// connects to database as login: the server's host (or socket dir) and
// port from the admin URL, never the admin's name or password.
func (p *Postgres) clientEnv(database, login, password string) ([]string, error) {
	cfg, err := pgx.ParseConfig(p.adminURL)
	if err != nil {
		return nil, err
	}
	sslmode := "prefer"
	if u, err := url.Parse(p.adminURL); err == nil && u.Query().Get("sslmode") != "" {
		sslmode = u.Query().Get("sslmode")
	}
	return []string{
		"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8",
		"PGHOST=" + cfg.Host, "PGPORT=" + strconv.Itoa(int(cfg.Port)), "PGDATABASE=" + database,
		"PGUSER=" + login, "PGPASSWORD=" + password, "PGSSLMODE=" + sslmode, "PGCONNECT_TIMEOUT=10",
	}, nil
}

// tool is the path of a PostgreSQL client program: from the server's own
// binaries when known, else the one on PATH.
func (p *Postgres) tool(name string) string {
	if p.binDir != "" {
		return filepath.Join(p.binDir, name)
	}
	return name
}

// Export writes database name as plain SQL to w: pg_dump as login, without
// owners or privileges, so the dump restores into any database.
func (p *Postgres) Export(ctx context.Context, name, login, password string, w io.Writer) error {
	env, err := p.clientEnv(name, login, password)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p.tool("pg_dump"), "--format=plain", "--no-owner", "--no-privileges", "--encoding=UTF8")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, w, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump of %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ImportError is SQL that failed: where, and what PostgreSQL said.
type ImportError struct {
	Line    int
	Message string
}

func (e *ImportError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return e.Message
}

// psqlError is psql's report of a failed statement: "psql:<stdin>:12: ERROR:  ...".
var psqlError = regexp.MustCompile(`(?m)^psql:<stdin>:(\d+): (?:ERROR|FATAL):\s+(.*)$`)

// Import runs script in database name as login, in one transaction that
// stops at the first error (then nothing applies): psql with
// ON_ERROR_STOP.
func (p *Postgres) Import(ctx context.Context, name, login, password string, script []byte) error {
	env, err := p.clientEnv(name, login, password)
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, p.tool("psql"), "--no-psqlrc", "--quiet", "--single-transaction",
		"--set=ON_ERROR_STOP=1", "--output=/dev/null", "--file=-")
	cmd.Env, cmd.Stdin, cmd.Stderr = env, bytes.NewReader(script), &stderr
	err = cmd.Run()
	if err == nil {
		return nil
	}
	if m := psqlError.FindStringSubmatch(stderr.String()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ImportError{Line: line, Message: m[2]}
	}
	if _, ok := err.(*exec.ExitError); ok && stderr.Len() > 0 {
		return &ImportError{Message: strings.TrimSpace(stderr.String())}
	}
	return fmt.Errorf("psql into %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
}
