// Package protoconv converts the domain values more than one service's
// messages carry (a deployment's status) to and from their wire form.
package protoconv

import (
	"strings"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/orchestrator"
)

// StatusToProto maps stored statuses: "running" ⇄ DEPLOYMENT_STATUS_RUNNING.
func StatusToProto(s orchestrator.Status) coderunnerv1.DeploymentStatus {
	v, ok := coderunnerv1.DeploymentStatus_value["DEPLOYMENT_STATUS_"+strings.ToUpper(string(s))]
	if !ok {
		return coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_UNSPECIFIED
	}
	return coderunnerv1.DeploymentStatus(v)
}

// StatusFromProto is StatusToProto reversed; UNSPECIFIED is "" (any).
func StatusFromProto(s coderunnerv1.DeploymentStatus) orchestrator.Status {
	if s == coderunnerv1.DeploymentStatus_DEPLOYMENT_STATUS_UNSPECIFIED {
		return ""
	}
	return orchestrator.Status(strings.ToLower(strings.TrimPrefix(s.String(), "DEPLOYMENT_STATUS_")))
}
