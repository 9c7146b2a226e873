// Package cli is the `coderunner` command line client: login, deploy a
// folder, list, inspect, follow logs and act on deployments. It is a thin
// layer over the generated Connect clients (no hand-written HTTP), like
// flyctl or the railway CLI are over their platforms' APIs.
//
// The server URL and token live in $XDG_CONFIG_HOME/coderunner/config.json
// (mode 0600), written by `coderunner login`; CODERUNNER_SERVER and
// CODERUNNER_TOKEN override them, for scripts and CI.
package cli
