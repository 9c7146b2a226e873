package testenv

import "github.com/coderunner/coderunner/server/testenv/syncbuf"

// SyncBuffer is syncbuf.SyncBuffer, for the tests that have testenv at
// hand; packages below server/app (which testenv imports) use syncbuf.
type SyncBuffer = syncbuf.SyncBuffer
