package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// rpcContentTypes are the request content types Connect, gRPC and gRPC-Web
// accept (by prefix).
var rpcContentTypes = []string{
	"application/json",
	"application/proto",
	"application/connect+",
	"application/grpc",
}

// requireRPCContentType answers a POST with a content type no RPC protocol
// uses with 415 and a JSON body that says what to send. Connect alone would
// answer 415 with an empty body, which leaves a curl user guessing.
func requireRPCContentType(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			ct := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
			known := false
			for _, prefix := range rpcContentTypes {
				if strings.HasPrefix(ct, prefix) {
					known = true
					break
				}
			}
			if !known {
				shown := ct
				if shown == "" {
					shown = "none"
				}
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Accept-Post", "application/json, application/proto")
				w.WriteHeader(http.StatusUnsupportedMediaType)
				_ = json.NewEncoder(w).Encode(map[string]string{
					"code":    "invalid_argument",
					"message": fmt.Sprintf("unsupported Content-Type %q: send application/json (or application/proto, gRPC, gRPC-Web)", shown),
				})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
