package authrpc

import (
	"time"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
	"github.com/coderunner/coderunner/server/auth"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func userToProto(u *auth.User) *coderunnerv1.User {
	return &coderunnerv1.User{
		Id:        u.ID,
		Email:     u.Email,
		CreatedAt: timestamppb.New(u.CreatedAt),
	}
}

func apiTokenToProto(t *auth.APIToken) *coderunnerv1.ApiToken {
	return &coderunnerv1.ApiToken{
		Id:         t.ID,
		Name:       t.Name,
		Prefix:     t.Prefix,
		CreatedAt:  timestamppb.New(t.CreatedAt),
		ExpiresAt:  optionalTimestamp(t.ExpiresAt),
		LastUsedAt: optionalTimestamp(t.LastUsedAt),
	}
}

func optionalTimestamp(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
