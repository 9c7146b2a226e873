package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/coderunner/coderunner/server/errs"
	"github.com/golang-jwt/jwt/v5"
)

const (
	// issuer is the iss claim of every session token.
	issuer = "coderunner"
	// apiTokenPrefix starts every personal API token, so a token is
	// recognisable in logs and secret scanners, and the interceptor can
	// tell it from a JWT without trying both.
	apiTokenPrefix = "crt_"
	// apiTokenShownPrefix is how many characters of a token are stored in
	// clear, to tell tokens apart in listings.
	apiTokenShownPrefix = len(apiTokenPrefix) + 6
)

// signSession returns an HS256 JWT naming the user and the session row.
func signSession(secret []byte, userID, sessionID string, issuedAt, expiresAt time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    issuer,
		Subject:   userID,
		ID:        sessionID,
		IssuedAt:  jwt.NewNumericDate(issuedAt),
		ExpiresAt: jwt.NewNumericDate(expiresAt),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(secret)
}

// parseSession checks a session token's signature, algorithm, issuer and
// expiry, and returns its claims. Its errors are safe to show.
func parseSession(secret []byte, token string, now time.Time) (*jwt.RegisteredClaims, error) {
	claims := &jwt.RegisteredClaims{}
	_, err := jwt.ParseWithClaims(token, claims,
		func(*jwt.Token) (any, error) { return secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	switch {
	case err == nil:
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, errs.New(errs.KindUnauthenticated, "session token expired; sign in again")
	default:
		return nil, errs.New(errs.KindUnauthenticated, "invalid token: it was not issued by this server or has been altered")
	}
	if claims.Subject == "" || claims.ID == "" {
		return nil, errs.New(errs.KindUnauthenticated, "invalid token: it names no user or session")
	}
	return claims, nil
}

// newAPITokenSecret returns a fresh random secret, crt_ + 43 base64url chars
// (256 bits of entropy).
func newAPITokenSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return apiTokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// hashAPITokenSecret is what the database stores and looks tokens up by.
// The secret has full entropy, so a fast hash is enough: there is nothing
// to brute-force.
func hashAPITokenSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func isAPITokenSecret(token string) bool {
	return strings.HasPrefix(token, apiTokenPrefix)
}
