package appdb

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// postgresPort is where an app reaches its PostgreSQL database.
const postgresPort = 5432

// App is how an app reaches its PostgreSQL database: 127.0.0.1:5432,
// DATABASE_URL and the libpq variables.
func (p *Postgres) App() AppView {
	return AppView{Port: postgresPort, Variables: postgresVariables, URLVariable: "DATABASE_URL", ShownURL: postgresShownURL}
}

func postgresVariables(name, login, password string) (env, secrets map[string]string) {
	env = map[string]string{"PGHOST": forwardHost, "PGPORT": strconv.Itoa(postgresPort), "PGUSER": login, "PGDATABASE": name}
	secrets = map[string]string{"PGPASSWORD": password, "DATABASE_URL": postgresURL(login, password, name)}
	return env, secrets
}

// postgresURL is the URL an app connects with, inside its sandbox.
func postgresURL(user, password, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
		Host: fmt.Sprintf("%s:%d", forwardHost, postgresPort), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// postgresShownURL is postgresURL as people see it: the password
// [redacted], unescaped.
func postgresShownURL(database, user string) string {
	return fmt.Sprintf("postgres://%s:[redacted]@%s:%d/%s?sslmode=disable", user, forwardHost, postgresPort, database)
}

// SetReadOnly sets database name's default_transaction_read_only and ends
// its sessions, so that the app's next connections start with it. An app
// may still SET it off in its own session: this is the quota's signal,
// not a lock (a lock would need the owner's privileges taken away).
func (p *Postgres) SetReadOnly(ctx context.Context, name string, readOnly bool) error {
	admin, err := p.connect(ctx, "")
	if err != nil {
		return err
	}
	defer func() { _ = admin.Close(context.WithoutCancel(ctx)) }()
	db := pgx.Identifier{name}.Sanitize()
	stmt := fmt.Sprintf("ALTER DATABASE %s SET default_transaction_read_only = on", db)
	if !readOnly {
		stmt = fmt.Sprintf("ALTER DATABASE %s RESET default_transaction_read_only", db)
	}
	return execAll(ctx, admin, name, []string{
		stmt,
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = " + literal(name) + " AND pid <> pg_backend_pid()",
	})
}
