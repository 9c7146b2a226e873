package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
	"github.com/golang-jwt/jwt/v5"
)

// rawResponse is what curl would see.
type rawResponse struct {
	status int
	body   map[string]any
	text   string
}

// post sends body to procedure the way curl does, with the given headers.
func post(t *testing.T, srv *testenv.Server, procedure, contentType, body string, header map[string]string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+procedure, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := testenv.HTTP1Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", procedure, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := rawResponse{status: res.StatusCode, text: string(data)}
	_ = json.Unmarshal(data, &out.body)
	return out
}

func (r rawResponse) want(t *testing.T, status int, code string, fragments ...string) {
	t.Helper()
	if r.status != status {
		t.Errorf("HTTP status %d, want %d (body %s)", r.status, status, r.text)
	}
	if got, _ := r.body["code"].(string); got != code {
		t.Errorf("code %q, want %q (body %s)", got, code, r.text)
	}
	msg, _ := r.body["message"].(string)
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			t.Errorf("message %q does not contain %q", msg, f)
		}
	}
}

// TestBadInput sends each kind of bad request a user can make and checks
// the code and message, then that the server still serves.
func TestBadInput(t *testing.T) {
	for _, db := range testenv.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			srv := testenv.Start(t, db, testenv.Options{})
			client := authClient(srv, protocols()[0])
			token, email := signUp(t, client)
			const login = coderunnerv1connect.AuthServiceLoginProcedure
			const verify = coderunnerv1connect.AuthServiceVerifyProcedure
			const jsonType = "application/json"

			t.Run("malformed JSON", func(t *testing.T) {
				post(t, srv, login, jsonType, `{"email": "a@b.co", "password":`, nil).
					want(t, 400, "invalid_argument", "not a valid JSON LoginRequest")
			})
			t.Run("unknown field", func(t *testing.T) {
				post(t, srv, login, jsonType, `{"email":"a@b.co","pasword":"x"}`, nil).
					want(t, 400, "invalid_argument", `unknown field "pasword"`)
			})
			t.Run("wrong type of value", func(t *testing.T) {
				post(t, srv, login, jsonType, `{"email":42,"password":"x"}`, nil).
					want(t, 400, "invalid_argument", "email")
			})
			t.Run("wrong content type", func(t *testing.T) {
				res := post(t, srv, login, "text/plain", `{"email":"a@b.co","password":"x"}`, nil)
				res.want(t, http.StatusUnsupportedMediaType, "invalid_argument", `"text/plain"`, "application/json")
			})
			t.Run("no content type", func(t *testing.T) {
				post(t, srv, login, "", `{}`, nil).want(t, http.StatusUnsupportedMediaType, "invalid_argument", "application/json")
			})
			t.Run("oversized body", func(t *testing.T) {
				big := `{"email":"a@b.co","password":"` + strings.Repeat("x", 2<<20) + `"}`
				post(t, srv, login, jsonType, big, nil).want(t, http.StatusTooManyRequests, "resource_exhausted", "larger than configured max")
			})
			t.Run("missing token", func(t *testing.T) {
				post(t, srv, verify, jsonType, `{}`, nil).want(t, 401, "unauthenticated", "missing credentials", "Authorization: Bearer")
			})
			t.Run("malformed authorization header", func(t *testing.T) {
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Token abc"}).
					want(t, 401, "unauthenticated", "expected 'Bearer <token>'")
			})
			t.Run("garbage token", func(t *testing.T) {
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer not-a-jwt"}).
					want(t, 401, "unauthenticated", "invalid token")
			})
			t.Run("expired token", func(t *testing.T) {
				expired := mintToken(t, []byte(testenv.JWTSecret), jwt.SigningMethodHS256, time.Now().Add(-time.Minute))
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer " + expired}).
					want(t, 401, "unauthenticated", "expired")
			})
			t.Run("forged token", func(t *testing.T) {
				forged := mintToken(t, []byte("some-other-secret-0123456789abcdef0123"), jwt.SigningMethodHS256, time.Now().Add(time.Hour))
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer " + forged}).
					want(t, 401, "unauthenticated", "invalid token")
			})
			t.Run("unsigned token", func(t *testing.T) {
				none := mintToken(t, jwt.UnsafeAllowNoneSignatureType, jwt.SigningMethodNone, time.Now().Add(time.Hour))
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer " + none}).
					want(t, 401, "unauthenticated", "invalid token")
			})
			t.Run("token for a session that does not exist", func(t *testing.T) {
				valid := mintToken(t, []byte(testenv.JWTSecret), jwt.SigningMethodHS256, time.Now().Add(time.Hour))
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer " + valid}).
					want(t, 401, "unauthenticated", "session does not exist")
			})
			t.Run("unknown API token", func(t *testing.T) {
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer crt_unknown"}).
					want(t, 401, "unauthenticated", "invalid API token")
			})
			t.Run("revoked token", func(t *testing.T) {
				tok, _ := signUp(t, client)
				if _, err := client.Logout(context.Background(), withToken(&coderunnerv1.LogoutRequest{}, tok)); err != nil {
					t.Fatal(err)
				}
				post(t, srv, verify, jsonType, `{}`, map[string]string{"Authorization": "Bearer " + tok}).
					want(t, 401, "unauthenticated", "revoked")
			})
			t.Run("duplicate email", func(t *testing.T) {
				_, err := client.Register(context.Background(), connect.NewRequest(&coderunnerv1.RegisterRequest{Email: email, Password: testPassword}))
				cerr := wantCode(t, err, connect.CodeAlreadyExists, "already exists")
				if got := violations(t, cerr); !contains(got, "email:unique") {
					t.Errorf("violations %v, want email:unique", got)
				}
			})
			t.Run("weak password and bad email", func(t *testing.T) {
				_, err := client.Register(context.Background(), connect.NewRequest(&coderunnerv1.RegisterRequest{Email: "not-an-email", Password: "short"}))
				cerr := wantCode(t, err, connect.CodeInvalidArgument, "at least 8 characters")
				got := violations(t, cerr)
				if !contains(got, "password:string.min_len") || !contains(got, "email:string.email") {
					t.Errorf("violations %v, want password:string.min_len and email:string.email", got)
				}
			})
			t.Run("password too long", func(t *testing.T) {
				_, err := client.Register(context.Background(), connect.NewRequest(&coderunnerv1.RegisterRequest{Email: uniqueEmail("long"), Password: strings.Repeat("p", 129)}))
				cerr := wantCode(t, err, connect.CodeInvalidArgument)
				if got := violations(t, cerr); !contains(got, "password:string.max_len") {
					t.Errorf("violations %v, want password:string.max_len", got)
				}
			})
			t.Run("password equal to email", func(t *testing.T) {
				e := uniqueEmail("same")
				_, err := client.Register(context.Background(), connect.NewRequest(&coderunnerv1.RegisterRequest{Email: e, Password: strings.ToUpper(e)}))
				cerr := wantCode(t, err, connect.CodeInvalidArgument, "must not be the same as the email")
				if got := violations(t, cerr); !contains(got, ":password_not_email") {
					t.Errorf("violations %v, want the message-level rule password_not_email", got)
				}
			})
			t.Run("invalid api token request", func(t *testing.T) {
				res := post(t, srv, coderunnerv1connect.AuthServiceCreateApiTokenProcedure, jsonType,
					`{"name":"","expiresIn":"1s"}`, map[string]string{"Authorization": "Bearer " + token})
				res.want(t, 400, "invalid_argument", "name", "expires_in")
			})
			t.Run("invalid id", func(t *testing.T) {
				_, err := client.RevokeApiToken(context.Background(), withToken(&coderunnerv1.RevokeApiTokenRequest{Id: "../../etc"}, token))
				cerr := wantCode(t, err, connect.CodeInvalidArgument)
				if got := violations(t, cerr); !contains(got, "id:string.uuid") {
					t.Errorf("violations %v, want id:string.uuid", got)
				}
			})

			// Nothing above hurt the server or the account.
			if _, err := client.Verify(context.Background(), withToken(&coderunnerv1.VerifyRequest{}, token)); err != nil {
				t.Fatalf("server stopped serving after bad input: %v", err)
			}
			if _, err := client.Login(context.Background(), connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword})); err != nil {
				t.Fatalf("login after bad input: %v", err)
			}
		})
	}
}

// mintToken signs a session-shaped JWT as an attacker or a stale client
// might present it.
func mintToken(t *testing.T, key any, method jwt.SigningMethod, expires time.Time) string {
	t.Helper()
	claims := jwt.RegisteredClaims{
		Issuer:    "coderunner",
		Subject:   "01900000-0000-7000-8000-000000000000",
		ID:        "01900000-0000-7000-8000-000000000001",
		IssuedAt:  jwt.NewNumericDate(expires.Add(-time.Hour)),
		ExpiresAt: jwt.NewNumericDate(expires),
	}
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
