// Package errs defines the error kinds domain packages return, and the one
// place they become Connect errors. Domain code never imports connect's codes
// directly, so the mapping stays consistent across services.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error by what the caller can do about it.
type Kind int

const (
	// KindInvalidArgument means the request itself is wrong.
	KindInvalidArgument Kind = iota + 1
	// KindNotFound means the resource does not exist for this caller.
	KindNotFound
	// KindAlreadyExists means a unique resource is taken.
	KindAlreadyExists
	// KindFailedPrecondition means the resource is in the wrong state.
	KindFailedPrecondition
	// KindPermissionDenied means the caller may not do this.
	KindPermissionDenied
	// KindUnauthenticated means the caller's credentials are missing or bad.
	KindUnauthenticated
	// KindResourceExhausted means a limit or rate was exceeded.
	KindResourceExhausted
	// KindUnavailable means a service it needs is down; trying again
	// later may work.
	KindUnavailable
)

// Error is a domain error with a message safe to show to the caller.
type Error struct {
	Kind Kind
	// Message is shown to the caller as is.
	Message string
	// Field, when set, names the request field at fault; it becomes a
	// protovalidate-style field violation in the error details.
	Field string
}

func (e *Error) Error() string { return e.Message }

// New returns an *Error of kind with a formatted message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field returns an *Error of kind that blames one request field.
func Field(kind Kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Is reports whether err is an *Error of kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}
