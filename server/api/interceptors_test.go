package api

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
)

// panickingAuth panics in Register; everything else is unimplemented.
type panickingAuth struct {
	coderunnerv1connect.UnimplementedAuthServiceHandler
}

func (panickingAuth) Register(context.Context, *connect.Request[coderunnerv1.RegisterRequest]) (*connect.Response[coderunnerv1.RegisterResponse], error) {
	panic("boom")
}

func TestRecoveryTurnsPanicIntoInternal(t *testing.T) {
	_, handler := coderunnerv1connect.NewAuthServiceHandler(panickingAuth{},
		connect.WithRecover(recovered(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	srv := httptest.NewServer(handler)
	defer srv.Close()
	client := coderunnerv1connect.NewAuthServiceClient(srv.Client(), srv.URL)
	for i := 0; i < 2; i++ { // the server survives the first panic
		_, err := client.Register(context.Background(), connect.NewRequest(&coderunnerv1.RegisterRequest{}))
		if connect.CodeOf(err) != connect.CodeInternal {
			t.Fatalf("call %d: err = %v, want internal", i, err)
		}
		if msg := err.(*connect.Error).Message(); msg != "internal error; the server log has details" {
			t.Errorf("message %q reveals more than it should", msg)
		}
	}
}
