package appdb

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/coderunner/coderunner/server/orchestrator"
	"github.com/coderunner/coderunner/server/store"
)

// Attached gives deployment id's replicas their databases: the variables
// (the password and the URL holding it masked like secrets) and the
// forward of 127.0.0.1:5432 inside the sandbox to the database's server.
func (s *Service) Attached(ctx context.Context, id string) (*orchestrator.Attachment, error) {
	var rows []row
	if err := store.DB(ctx, s.db).NewSelect().Model(&rows).Where("deployment_id = ?", id).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load databases: %w", err)
	}
	a := &orchestrator.Attachment{Env: map[string]string{}, Secrets: map[string]string{}}
	if len(rows) == 0 {
		return a, nil
	}
	pg, err := s.server(ctx)
	if err != nil {
		return nil, fmt.Errorf("the database server is not available: %w", err)
	}
	for i := range rows {
		r := &rows[i]
		password, err := s.open(r)
		if err != nil {
			return nil, err
		}
		a.Env["PGHOST"], a.Env["PGPORT"] = forwardHost, strconv.Itoa(forwardPort)
		a.Env["PGUSER"], a.Env["PGDATABASE"] = r.Role, r.Name
		a.Secrets["PGPASSWORD"] = password
		a.Secrets["DATABASE_URL"] = postgresURL(r.Role, password, r.Name)
		a.Forwards = append(a.Forwards, orchestrator.Forward{Port: forwardPort, Dial: pg.Dial})
	}
	return a, nil
}

// postgresURL is the URL an app connects with, inside its sandbox.
func postgresURL(user, password, database string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(user, password),
		Host: fmt.Sprintf("%s:%d", forwardHost, forwardPort), Path: "/" + database, RawQuery: "sslmode=disable"}
	return u.String()
}

// shownURL is postgresURL as people see it: the password [redacted],
// unescaped.
func shownURL(user, database string) string {
	return fmt.Sprintf("postgres://%s:[redacted]@%s:%d/%s?sslmode=disable", user, forwardHost, forwardPort, database)
}
