package auth

import (
	"context"
	"fmt"

	"github.com/coderunner/coderunner/server/errs"
)

// Reauthenticate checks userID's password again before something a
// session alone must not do (reading a database's password): a stolen
// token is not enough. Failures count like sign-in failures of the
// account, so guessing is as slow as at sign-in.
func (s *Service) Reauthenticate(ctx context.Context, userID, password string) error {
	key := "reauth:" + userID
	if wait := s.limiter.retryAfter(key); wait > 0 {
		return errs.New(errs.KindResourceExhausted, "too many wrong passwords; try again in %s", roundUp(wait))
	}
	user, err := s.findUser(ctx, userID)
	if err != nil {
		return err
	}
	ok, err := CheckPassword(user.PasswordHash, password)
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok {
		s.limiter.fail(key)
		return errs.Field(errs.KindInvalidArgument, "password", "the password is incorrect")
	}
	s.limiter.reset(key)
	return nil
}
