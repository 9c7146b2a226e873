package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 1 << 20

// readBody reads a JSON object body: 415 unless it is declared JSON, 413 over
// MaxBodyBytes, 400 unless it is one well-formed JSON object.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]json.RawMessage, *apiError) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !(r.Method == http.MethodPatch && mt == "application/merge-patch+json")) {
		return nil, newError(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, newError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, newError(http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes))
		}
		return nil, newError(http.StatusBadRequest, "cannot read the request body: "+err.Error())
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, newError(http.StatusBadRequest, "the request body is empty; send a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return nil, newError(http.StatusBadRequest, "the request body must be a JSON object")
		}
		return nil, newError(http.StatusBadRequest, "malformed JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if obj == nil {
		return nil, newError(http.StatusBadRequest, "the request body must be a JSON object")
	}
	return obj, nil
}
