package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the generated key's file in the data dir, used when
// CODERUNNER_SECRET_KEY is not set.
const KeyFile = "secret.key"

// The environment variables the keys come from (read by package config).
// They are environment only (no flags), so a key never shows in a process
// list.
const (
	EnvKey         = "CODERUNNER_SECRET_KEY"
	EnvPreviousKey = "CODERUNNER_SECRET_KEY_PREVIOUS"
)

// keySize is AES-256's key length.
const keySize = 32

// key is one AES-256 key and its id, which sealed values carry.
type key struct {
	id  string
	raw []byte
}

func newKey(raw []byte) key {
	sum := sha256.Sum256(raw)
	return key{id: hex.EncodeToString(sum[:4]), raw: raw}
}

// Keyring holds the key new values are sealed with and, during a rotation,
// the previous one, which still opens what it sealed.
type Keyring struct {
	current  key
	previous *key
}

// CurrentID is the id of the key new values are sealed with.
func (k *Keyring) CurrentID() string { return k.current.id }

// LoadKeyring uses key (EnvKey's value: 32 bytes, base64) or, when it is
// empty, dataDir's KeyFile, generating the file (mode 0600) the first
// time; previous (EnvPreviousKey's value), when set, is the key being
// rotated away from.
func LoadKeyring(dataDir, key, previous string) (*Keyring, error) {
	var k Keyring
	if encoded := key; encoded != "" {
		raw, err := decodeKey(EnvKey, encoded)
		if err != nil {
			return nil, err
		}
		k.current = newKey(raw)
	} else {
		raw, err := loadOrCreateKeyFile(filepath.Join(dataDir, KeyFile))
		if err != nil {
			return nil, err
		}
		k.current = newKey(raw)
	}
	if encoded := previous; encoded != "" {
		raw, err := decodeKey(EnvPreviousKey, encoded)
		if err != nil {
			return nil, err
		}
		previous := newKey(raw)
		k.previous = &previous
	}
	return &k, nil
}

// NewKey returns a fresh key, base64-encoded as EnvKey takes it.
func NewKey() string {
	raw := make([]byte, keySize)
	_, _ = rand.Read(raw)
	return base64.StdEncoding.EncodeToString(raw)
}

func decodeKey(name, encoded string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return nil, fmt.Errorf("%s is not base64: %w (make one with: head -c 32 /dev/urandom | base64)", name, err)
	}
	if len(raw) != keySize {
		return nil, fmt.Errorf("%s holds %d bytes, want %d (make one with: head -c 32 /dev/urandom | base64)", name, len(raw), keySize)
	}
	return raw, nil
}

// loadOrCreateKeyFile reads the key file, or creates it with a fresh key.
// O_EXCL makes two servers starting on one data dir agree on one key.
func loadOrCreateKeyFile(path string) ([]byte, error) {
	for range 2 {
		data, err := os.ReadFile(path)
		if err == nil {
			return decodeKey(path, string(data))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read the secret key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // another process made it first: read theirs
		}
		if err != nil {
			return nil, fmt.Errorf("create the secret key: %w", err)
		}
		encoded := NewKey()
		_, werr := f.WriteString(encoded + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return nil, fmt.Errorf("write the secret key: %w", werr)
		}
		return decodeKey(path, encoded)
	}
	return nil, fmt.Errorf("read the secret key %s: it keeps disappearing", path)
}
