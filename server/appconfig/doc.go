// Package appconfig keeps what a deployment is configured with beyond its
// source: its secrets, sealed by package secrets and stored beside the
// deployment. The orchestrator asks it for the plaintext values when it
// starts replicas (the sandbox's environment is the only place they go)
// and for a masker over them; the ConfigService (rpc/configrpc) sets,
// lists and deletes them by name.
package appconfig
