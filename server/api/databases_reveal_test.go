package api_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
)

// TestRevealDatabaseURL: the URL with its password only for the account's
// password; a wrong one is invalid_argument on the field, and repeated
// ones are limited like sign-ins; another user's deployment is not found;
// every call is audited without the password; the URL works.
func TestRevealDatabaseURL(t *testing.T) {
	pgURL, _ := appsPostgres(t)
	ctx := context.Background()
	e := newEngine(t, testenv.Database{Name: "sqlite"}, testenv.Options{Configure: func(c *config.Config) { c.AppsPostgresURL = pgURL }})
	d := e.create(&coderunnerv1.CreateDeploymentRequest{Name: "reveal", Files: example(t, "node-hello"),
		Databases: []coderunnerv1.DatabaseEngine{postgresEngine}})
	e.waitFor(d.GetId(), coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, time.Minute)
	reveal := func(token, password string) (string, error) {
		res, err := e.databaseClient().RevealDatabaseURL(ctx, withToken(&coderunnerv1.RevealDatabaseURLRequest{DeploymentId: d.GetId(), Password: password}, token))
		if err != nil {
			return "", err
		}
		return res.Msg.GetUrl(), nil
	}

	_, err := reveal(e.token, "")
	wantCode(t, err, connect.CodeInvalidArgument, "password")
	_, err = reveal(e.token, "not my password")
	if v := violations(t, wantCode(t, err, connect.CodeInvalidArgument, "the password is incorrect")); len(v) != 1 || !strings.HasPrefix(v[0], "password:") {
		t.Errorf("violations %v", v)
	}
	_, err = reveal(e.otherUser().token, testPassword)
	wantCode(t, err, connect.CodeNotFound)

	url, err := reveal(e.token, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(url, "[redacted]") || !strings.HasPrefix(url, "postgres://app_") {
		t.Fatalf("revealed %q", url)
	}
	// With an external server at 127.0.0.1:5432 the sandbox's address is
	// the host's too, so the URL works from here.
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	var user string
	if err := db.QueryRowContext(ctx, "SELECT current_user").Scan(&user); err != nil || !strings.HasPrefix(user, "app_") {
		t.Errorf("connecting with the revealed URL: %q, %v", user, err)
	}

	password := url[strings.LastIndex(url[:strings.Index(url, "@")], ":")+1 : strings.Index(url, "@")]
	for _, ev := range e.auditEvents(e.token, nil, 100) {
		if method(ev) != "RevealDatabaseURL" {
			continue
		}
		if strings.Contains(ev.GetSummary(), testPassword) || strings.Contains(ev.GetSummary(), password) {
			t.Errorf("the audit event shows a password: %s", ev.GetSummary())
		}
	}
	if findEvent(e.auditEvents(e.token, nil, 100), "RevealDatabaseURL", "ok") == nil ||
		findEvent(e.auditEvents(e.token, nil, 100), "RevealDatabaseURL", "invalid_argument") == nil {
		t.Error("the reveals are not in the audit log")
	}

	for range 5 { // --login-max-failures
		_, err = reveal(e.token, "guess")
		wantCode(t, err, connect.CodeInvalidArgument, "the password is incorrect")
	}
	// Then even the right password waits.
	_, err = reveal(e.token, testPassword)
	wantCode(t, err, connect.CodeResourceExhausted, "too many wrong passwords")
}
