package api_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"
	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/gen/coderunner/v1/coderunnerv1connect"
	"github.com/coderunner/coderunner/server/testenv"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestContractValidation checks the protovalidate rules of the deployment
// and metrics contract through the real server: the validate interceptor
// rejects each bad request with the field and rule named, before any
// handler runs.
func TestContractValidation(t *testing.T) {
	srv := testenv.Start(t, testenv.Database{Name: "sqlite"}, testenv.Options{})
	token, _ := signUp(t, authClient(srv, protocols()[0]))
	deployments := coderunnerv1connect.NewDeploymentServiceClient(testenv.HTTP1Client(), srv.URL)
	metrics := coderunnerv1connect.NewMetricsServiceClient(testenv.HTTP1Client(), srv.URL)
	ctx := context.Background()
	file := func(path string) *coderunnerv1.SourceFile {
		return &coderunnerv1.SourceFile{Path: path, Content: []byte("x")}
	}
	create := func(mutate func(*coderunnerv1.CreateDeploymentRequest)) error {
		req := &coderunnerv1.CreateDeploymentRequest{Name: "hello", Files: []*coderunnerv1.SourceFile{file("index.js")}}
		mutate(req)
		_, err := deployments.CreateDeployment(ctx, withToken(req, token))
		return err
	}
	const id = "01900000-0000-7000-8000-000000000000"

	for _, tc := range []struct {
		name string
		call func() error
		want string // "field:rule"
	}{
		{"absolute path", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = []*coderunnerv1.SourceFile{file("/etc/passwd")}
			})
		}, "files.path:path_relative"},
		{"dot-dot segment", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = []*coderunnerv1.SourceFile{file("src/../../x")}
			})
		}, "files.path:path_segments"},
		{"dot segment", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = []*coderunnerv1.SourceFile{file("./index.js")}
			})
		}, "files.path:path_segments"},
		{"empty segment", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = []*coderunnerv1.SourceFile{file("src//index.js")}
			})
		}, "files.path:path_segments"},
		{"backslash", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = []*coderunnerv1.SourceFile{file(`src\index.js`)}
			})
		}, "files.path:path_segments"},
		{"NUL byte", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Files = []*coderunnerv1.SourceFile{file("a\x00b")} })
		}, "files.path:path_segments"},
		{"file over 10 MiB", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = []*coderunnerv1.SourceFile{{Path: "big.bin", Content: make([]byte, 10<<20+1)}}
			})
		}, "files.content:bytes.max_len"},
		{"too many files", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) {
				r.Files = nil
				for i := 0; i < 2001; i++ {
					r.Files = append(r.Files, file("f"+itoa(int64(i))))
				}
			})
		}, "files:repeated.max_items"},
		{"name with capitals", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Name = "Hello_World" })
		}, "name:string.pattern"},
		{"name ending in a hyphen", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Name = "hello-" })
		}, "name:string.pattern"},
		{"files and archive", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Archive = []byte("PK") })
		}, ":one_source"},
		{"no source", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Files = nil })
		}, ":one_source"},
		{"reserved env name", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Env = map[string]string{"PORT": "80"} })
		}, "env:env_reserved"},
		{"bad env name", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Env = map[string]string{"1BAD": "x"} })
		}, "env:string.pattern"},
		{"unknown runtime", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Runtime = 99 })
		}, "runtime:enum.defined_only"},
		{"too many replicas", func() error {
			return create(func(r *coderunnerv1.CreateDeploymentRequest) { r.Replicas = 11 })
		}, "replicas:int32.gte_lte"},
		{"page size over 100", func() error {
			_, err := deployments.ListDeployments(ctx, withToken(&coderunnerv1.ListDeploymentsRequest{PageSize: 101}, token))
			return err
		}, "page_size:int32.gte_lte"},
		{"update without mask", func() error {
			_, err := deployments.UpdateDeployment(ctx, withToken(&coderunnerv1.UpdateDeploymentRequest{Id: id}, token))
			return err
		}, "update_mask:required"},
		{"update of an unknown field", func() error {
			_, err := deployments.UpdateDeployment(ctx, withToken(&coderunnerv1.UpdateDeploymentRequest{Id: id, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner"}}}, token))
			return err
		}, "update_mask:update_mask_paths"},
		{"tail and after_seq", func() error {
			stream, err := deployments.StreamLogs(ctx, withToken(&coderunnerv1.StreamLogsRequest{DeploymentId: id, Tail: 10, AfterSeq: 5}, token))
			if err != nil {
				return err
			}
			for stream.Receive() {
			}
			return stream.Err()
		}, ":tail_or_after_seq"},
		{"unspecified stream filter", func() error {
			_, err := deployments.GetLogs(ctx, withToken(&coderunnerv1.GetLogsRequest{DeploymentId: id, Streams: []coderunnerv1.LogStream{coderunnerv1.LogStream_LOG_STREAM_UNSPECIFIED}}, token))
			return err
		}, "streams:enum.not_in"},
		{"metrics interval under a second", func() error {
			stream, err := metrics.StreamDeploymentMetrics(ctx, withToken(&coderunnerv1.StreamDeploymentMetricsRequest{DeploymentId: id, Interval: durationpb.New(100_000_000)}, token))
			if err != nil {
				return err
			}
			for stream.Receive() {
			}
			return stream.Err()
		}, "interval:duration.gte_lte"},
		{"empty manifest", func() error {
			_, err := deployments.ValidateManifest(ctx, withToken(&coderunnerv1.ValidateManifestRequest{}, token))
			return err
		}, "content:string.min_len"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cerr := wantCode(t, tc.call(), connect.CodeInvalidArgument)
			if got := violations(t, cerr); !contains(got, tc.want) {
				t.Errorf("violations %v, want %s", got, tc.want)
			}
		})
	}

	// A request that passes every rule reaches the handler, whose own
	// checks (here: package.json must be JSON) come next.
	err := create(func(r *coderunnerv1.CreateDeploymentRequest) {
		r.Files = []*coderunnerv1.SourceFile{file("package.json"), file("src/server.js"), file(".env.example")}
		r.Env = map[string]string{"NODE_ENV": "production"}
		r.Name = "my-app-2"
	})
	cerr := wantCode(t, err, connect.CodeInvalidArgument, "package.json is not valid JSON")
	if got := violations(t, cerr); !contains(got, "files:valid") {
		t.Errorf("violations %v, want files:valid", got)
	}
	if strings.Contains(srv.Logs.String(), "panic") {
		t.Error("server logged a panic")
	}
}
