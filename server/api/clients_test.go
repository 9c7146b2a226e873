package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
)

// protocol is one way a client can reach the server.
type protocol struct {
	name   string
	client *http.Client
	opts   []connect.ClientOption
}

// protocols covers every wire protocol the server promises: Connect with
// JSON (what curl and the browser send) and binary proto, gRPC over h2c
// (what grpcurl and buf curl speak), and gRPC-Web.
func protocols() []protocol {
	return []protocol{
		{"connect-json", testenv.HTTP1Client(), []connect.ClientOption{connect.WithProtoJSON()}},
		{"connect-proto", testenv.HTTP1Client(), nil},
		{"grpc", testenv.H2CClient(), []connect.ClientOption{connect.WithGRPC()}},
		{"grpc-web", testenv.HTTP1Client(), []connect.ClientOption{connect.WithGRPCWeb()}},
	}
}

func authClient(srv *testenv.Server, p protocol) coderunnerv1connect.AuthServiceClient {
	return coderunnerv1connect.NewAuthServiceClient(p.client, srv.URL, p.opts...)
}

// withToken wraps msg in a request carrying a bearer token.
func withToken[T any](msg *T, token string) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+token)
	return req
}

var emailCounter atomic.Int64

// uniqueEmail returns an address no other test uses.
func uniqueEmail(prefix string) string {
	return prefix + "-" + time.Now().Format("150405") + "-" + itoa(emailCounter.Add(1)) + "@example.com"
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

const testPassword = "correct horse battery"

// signUp registers and logs in a fresh user and returns the session token.
func signUp(t testing.TB, client coderunnerv1connect.AuthServiceClient) (token, email string) {
	t.Helper()
	ctx := context.Background()
	email = uniqueEmail("user")
	if _, err := client.Register(ctx, connect.NewRequest(&coderunnerv1.RegisterRequest{Email: email, Password: testPassword})); err != nil {
		t.Fatalf("Register: %v", err)
	}
	res, err := client.Login(ctx, connect.NewRequest(&coderunnerv1.LoginRequest{Email: email, Password: testPassword}))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return res.Msg.GetToken(), email
}

// wantCode fails the test unless err is a Connect error with code whose
// message contains each of fragments.
func wantCode(t *testing.T, err error, code connect.Code, fragments ...string) *connect.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", code)
	}
	var connectErr *connect.Error
	if !errors.As(err, &connectErr) {
		t.Fatalf("got %T %v, want a connect error", err, err)
	}
	if connectErr.Code() != code {
		t.Fatalf("got code %v (%v), want %v", connectErr.Code(), connectErr.Message(), code)
	}
	for _, f := range fragments {
		if !strings.Contains(connectErr.Message(), f) {
			t.Errorf("message %q does not contain %q", connectErr.Message(), f)
		}
	}
	return connectErr
}

// violations returns the field path and rule id of each field violation in
// the error's details, as "field:rule".
func violations(t *testing.T, err *connect.Error) []string {
	t.Helper()
	var out []string
	for _, detail := range err.Details() {
		msg, derr := detail.Value()
		if derr != nil {
			t.Fatalf("decode error detail: %v", derr)
		}
		v, ok := msg.(*validate.Violations)
		if !ok {
			continue
		}
		for _, violation := range v.GetViolations() {
			var path []string
			for _, el := range violation.GetField().GetElements() {
				path = append(path, el.GetFieldName())
			}
			out = append(out, strings.Join(path, ".")+":"+violation.GetRuleId())
		}
	}
	return out
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if s == want {
			return true
		}
	}
	return false
}

// fakeClock is a settable clock for expiry tests.
type fakeClock struct{ offset atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
