package manifest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// FieldError blames one field of a request body, or one query parameter.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is the body of every error response:
// {"error": {"status": 400, "message": "...", "fields": [...]}}.
type apiError struct {
	Status  int          `json:"status"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

func newError(status int, msg string, fields ...FieldError) *apiError {
	return &apiError{Status: status, Message: msg, Fields: fields}
}

// respond returns a function writing either body with status, or err.
func (a *api) respond(w http.ResponseWriter, status int) func([]byte, error) {
	return func(body []byte, err error) {
		if err == nil {
			writeJSON(w, status, body)
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = a.internal(err)
		}
		writeError(w, ae)
	}
}

// internal turns an error that is not an *apiError into one safe to send,
// logging the ones the client cannot do anything about.
func (a *api) internal(err error) *apiError {
	if errors.Is(err, context.Canceled) {
		return newError(499, "request canceled")
	}
	msg := err.Error()
	if strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") {
		return newError(http.StatusServiceUnavailable, "the database is busy; try again")
	}
	a.log.Error("manifest api: internal error", "err", err)
	return newError(http.StatusInternalServerError, "internal error")
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte{'\n'})
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, _ := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{e})
	writeJSON(w, e.Status, body)
}
