package api_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestAuthRoundTrip registers, logs in and verifies over every protocol on
// every database.
func TestAuthRoundTrip(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srv := testenv.Start(t, db, testenv.Options{})
			for _, p := range protocols() {
				t.Run(p.name, func(t *testing.T) {
					ctx := context.Background()
					client := authClient(srv, p)
					email := uniqueEmail(p.name)
					reg, err := client.Register(ctx, connect.NewRequest(&coderunnerv1.RegisterRequest{Email: email, Password: testPassword}))
					if err != nil {
						t.Fatalf("Register: %v", err)
					}
					if reg.Msg.GetUser().GetEmail() != email || reg.Msg.GetUser().GetId() == "" {
						t.Fatalf("Register returned %v", reg.Msg.GetUser())
					}
					login, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword}))
					if err != nil {
						t.Fatalf("Login: %v", err)
					}
					ttl := time.Until(login.Msg.GetExpiresAt().AsTime())
					if ttl < 7*24*time.Hour-time.Minute || ttl > 7*24*time.Hour {
						t.Errorf("token expires in %v, want 7 days", ttl)
					}
					verify, err := client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, login.Msg.GetToken()))
					if err != nil {
						t.Fatalf("Verify: %v", err)
					}
					if verify.Msg.GetUser().GetId() != reg.Msg.GetUser().GetId() {
						t.Errorf("Verify says user %s, want %s", verify.Msg.GetUser().GetId(), reg.Msg.GetUser().GetId())
					}
					if !verify.Msg.GetExpiresAt().AsTime().Equal(login.Msg.GetExpiresAt().AsTime()) {
						t.Errorf("Verify expires_at %v, Login said %v", verify.Msg.GetExpiresAt().AsTime(), login.Msg.GetExpiresAt().AsTime())
					}
				})
			}
		})
	}
}

func TestEmailIsCaseInsensitive(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	client := authClient(srv, protocols()[0])
	ctx := context.Background()
	if _, err := client.Register(ctx, connect.NewRequest(&coderunnerv1.RegisterRequest{Email: "Grace@Example.com", Password: testPassword})); err != nil {
		t.Fatal(err)
	}
	_, err := client.Register(ctx, connect.NewRequest(&coderunnerv1.RegisterRequest{Email: "grace@example.COM", Password: testPassword}))
	wantCode(t, err, connect.CodeAlreadyExists)
	if _, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: "GRACE@example.com", Password: testPassword})); err != nil {
		t.Fatalf("login with other casing: %v", err)
	}
}

// TestLogoutAndChangePassword covers token revocation on both databases.
func TestLogoutAndChangePassword(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srv := testenv.Start(t, db, testenv.Options{})
			client := authClient(srv, protocols()[0])
			ctx := context.Background()

			t.Run("logout revokes only that session", func(t *testing.T) {
				token, email := signUp(t, client)
				other, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword}))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := client.Logout(ctx, withToken(&coderunnerv1.LogoutRequest{}, token)); err != nil {
					t.Fatalf("Logout: %v", err)
				}
				_, err = client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, token))
				wantCode(t, err, connect.CodeUnauthenticated, "revoked")
				if _, err := client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, other.Msg.GetToken())); err != nil {
					t.Errorf("other session stopped working: %v", err)
				}
			})

			t.Run("change password", func(t *testing.T) {
				token, email := signUp(t, client)
				other, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword}))
				if err != nil {
					t.Fatal(err)
				}
				_, err = client.ChangePassword(ctx, withToken(&coderunnerv1.ChangePasswordRequest{CurrentPassword: "wrong password", NewPassword: "a new passphrase"}, token))
				cerr := wantCode(t, err, connect.CodeInvalidArgument, "current password is incorrect")
				if got := violations(t, cerr); !contains(got, "current_password:valid") {
					t.Errorf("violations %v, want current_password", got)
				}
				_, err = client.ChangePassword(ctx, withToken(&coderunnerv1.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "short"}, token))
				cerr = wantCode(t, err, connect.CodeInvalidArgument)
				if got := violations(t, cerr); !contains(got, "new_password:string.min_len") {
					t.Errorf("violations %v, want new_password:string.min_len", got)
				}
				if _, err := client.ChangePassword(ctx, withToken(&coderunnerv1.ChangePasswordRequest{CurrentPassword: testPassword, NewPassword: "a new passphrase"}, token)); err != nil {
					t.Fatalf("ChangePassword: %v", err)
				}
				if _, err := client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, token)); err != nil {
					t.Errorf("the session that changed the password stopped working: %v", err)
				}
				_, err = client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, other.Msg.GetToken()))
				wantCode(t, err, connect.CodeUnauthenticated, "revoked")
				_, err = client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword}))
				wantCode(t, err, connect.CodeUnauthenticated, "invalid email or password")
				if _, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: "a new passphrase"})); err != nil {
					t.Errorf("login with the new password: %v", err)
				}
			})
		})
	}
}

// TestAPITokens covers the token life cycle: create (secret once), use,
// list, revoke, expire.
func TestAPITokens(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			clock := &fakeClock{}
			srv := testenv.Start(t, db, testenv.Options{Now: clock.Now})
			client := authClient(srv, protocols()[0])
			ctx := context.Background()
			session, email := signUp(t, client)

			created, err := client.CreateApiToken(ctx, withToken(&coderunnerv1.CreateApiTokenRequest{Name: "ci"}, session))
			if err != nil {
				t.Fatalf("CreateApiToken: %v", err)
			}
			secret := created.Msg.GetSecret()
			if len(secret) < 40 || secret[:4] != "crt_" {
				t.Fatalf("secret %q is not a crt_ token", secret)
			}
			if created.Msg.GetApiToken().GetPrefix() != secret[:10] {
				t.Errorf("prefix %q, want %q", created.Msg.GetApiToken().GetPrefix(), secret[:10])
			}

			verify, err := client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, secret))
			if err != nil {
				t.Fatalf("Verify with API token: %v", err)
			}
			if verify.Msg.GetUser().GetEmail() != email || verify.Msg.GetExpiresAt() != nil {
				t.Errorf("Verify with API token = %v", verify.Msg)
			}

			_, err = client.CreateApiToken(ctx, withToken(&coderunnerv1.CreateApiTokenRequest{Name: "ci"}, session))
			cerr := wantCode(t, err, connect.CodeAlreadyExists, `"ci"`)
			if got := violations(t, cerr); !contains(got, "name:unique") {
				t.Errorf("violations %v, want name:unique", got)
			}

			_, err = client.Logout(ctx, withToken(&coderunnerv1.LogoutRequest{}, secret))
			wantCode(t, err, connect.CodeFailedPrecondition, "RevokeApiToken")

			short, err := client.CreateApiToken(ctx, withToken(&coderunnerv1.CreateApiTokenRequest{Name: "short-lived", ExpiresIn: durationpb.New(time.Hour)}, secret))
			if err != nil {
				t.Fatalf("CreateApiToken with an API token: %v", err)
			}
			list, err := client.ListApiTokens(ctx, withToken(&coderunnerv1.ListApiTokensRequest{}, session))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(list.Msg.GetApiTokens()); n != 2 {
				t.Fatalf("listed %d tokens, want 2", n)
			}
			if got := list.Msg.GetApiTokens()[0].GetName(); got != "short-lived" {
				t.Errorf("newest token listed first is %q, want short-lived", got)
			}
			if used := list.Msg.GetApiTokens()[1].GetLastUsedAt(); used == nil {
				t.Errorf("last_used_at of the used token is unset")
			}

			clock.Advance(time.Hour + time.Second)
			_, err = client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, short.Msg.GetSecret()))
			wantCode(t, err, connect.CodeUnauthenticated, "expired")

			if _, err := client.RevokeApiToken(ctx, withToken(&coderunnerv1.RevokeApiTokenRequest{Id: created.Msg.GetApiToken().GetId()}, session)); err != nil {
				t.Fatalf("RevokeApiToken: %v", err)
			}
			_, err = client.Verify(ctx, withToken(&coderunnerv1.VerifyRequest{}, secret))
			wantCode(t, err, connect.CodeUnauthenticated, "revoked")
			_, err = client.RevokeApiToken(ctx, withToken(&coderunnerv1.RevokeApiTokenRequest{Id: created.Msg.GetApiToken().GetId()}, session))
			wantCode(t, err, connect.CodeNotFound)

			// Another user cannot see or revoke this user's tokens.
			stranger, _ := signUp(t, client)
			_, err = client.RevokeApiToken(ctx, withToken(&coderunnerv1.RevokeApiTokenRequest{Id: short.Msg.GetApiToken().GetId()}, stranger))
			wantCode(t, err, connect.CodeNotFound)
			theirs, err := client.ListApiTokens(ctx, withToken(&coderunnerv1.ListApiTokensRequest{}, stranger))
			if err != nil || len(theirs.Msg.GetApiTokens()) != 0 {
				t.Errorf("stranger lists %v (err %v), want nothing", theirs.Msg.GetApiTokens(), err)
			}
		})
	}
}

// TestSessionExpiry checks the 7-day session lifetime against the clock.
func TestSessionExpiry(t *testing.T) {
	clock := &fakeClock{}
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{Now: clock.Now})
	client := authClient(srv, protocols()[0])
	token, _ := signUp(t, client)
	clock.Advance(7*24*time.Hour + time.Second)
	_, err := client.Verify(context.Background(), withToken(&coderunnerv1.VerifyRequest{}, token))
	wantCode(t, err, connect.CodeUnauthenticated, "expired")
}

// TestLoginRateLimit checks 5 failures per 15 minutes per email and per
// address, and that the answers never tell whether an email has an account.
func TestLoginRateLimit(t *testing.T) {
	clock := &fakeClock{}
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{Now: clock.Now})
	client := authClient(srv, protocols()[0])
	ctx := context.Background()
	_, email := signUp(t, client)
	login := func(email, password string) error {
		_, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: password}))
		return err
	}

	for i := 0; i < 5; i++ {
		wantCode(t, login(email, "wrong password"), connect.CodeUnauthenticated, "invalid email or password")
	}
	wantCode(t, login(email, testPassword), connect.CodeResourceExhausted, "too many failed sign-in attempts", "15 minutes")

	// An unknown email gets word-for-word the same answers.
	clock.Advance(15 * time.Minute)
	ghost := uniqueEmail("ghost")
	for i := 0; i < 5; i++ {
		wantCode(t, login(ghost, "wrong password"), connect.CodeUnauthenticated, "invalid email or password")
	}
	wantCode(t, login(ghost, "wrong password"), connect.CodeResourceExhausted, "too many failed sign-in attempts")

	// After the window the real account can sign in again.
	clock.Advance(15 * time.Minute)
	if err := login(email, testPassword); err != nil {
		t.Fatalf("login after the window: %v", err)
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{
		Configure: func(c *config.Config) { c.LoginMaxFailures = 3 },
	})
	client := authClient(srv, protocols()[0])
	ctx := context.Background()
	_, email := signUp(t, client)
	for i := 0; i < 3; i++ {
		_, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: uniqueEmail("spray"), Password: "guess"}))
		wantCode(t, err, connect.CodeUnauthenticated)
	}
	// Failures spread over many emails from one address block that address.
	_, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword}))
	wantCode(t, err, connect.CodeResourceExhausted)
}
