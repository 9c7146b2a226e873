// Package audit keeps the account's audit log: one event per mutating
// call, written in the same transaction as the change it records (through
// store.Tx's commit hook), so a change without its event, or an event
// without its change, cannot be committed. rpc/auditrpc opens a Scope for
// each call and serves the log as the AuditService.
package audit
