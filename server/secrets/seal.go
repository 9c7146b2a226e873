package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Sealed is a value as stored: the id of the key that sealed it and the
// nonce followed by the AES-GCM ciphertext and tag.
type Sealed struct {
	KeyID string
	Data  []byte
}

// ErrUnknownKey is Open's error for a value sealed with a key the keyring
// does not hold (a rotation finished without re-encrypting, say).
var ErrUnknownKey = errors.New("sealed with a key this server does not have")

// AdditionalData binds a sealed value to its row: the scope (a deployment
// or project id) and the secret's name. Opening with other data fails.
func AdditionalData(scope, name string) []byte {
	return []byte(scope + "\x00" + name)
}

func gcmFor(k key) (cipher.AEAD, error) {
	block, err := aes.NewCipher(k.raw)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext with the current key and a fresh random nonce.
func (k *Keyring) Seal(plaintext, additional []byte) (Sealed, error) {
	aead, err := gcmFor(k.current)
	if err != nil {
		return Sealed{}, fmt.Errorf("seal: %w", err)
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal: nonce: %w", err)
	}
	return Sealed{KeyID: k.current.id, Data: aead.Seal(nonce, nonce, plaintext, additional)}, nil
}

// Open decrypts s with the key it names, checking that it was sealed with
// the same additional data and not altered since.
func (k *Keyring) Open(s Sealed, additional []byte) ([]byte, error) {
	var use key
	switch {
	case s.KeyID == k.current.id:
		use = k.current
	case k.previous != nil && s.KeyID == k.previous.id:
		use = *k.previous
	default:
		return nil, fmt.Errorf("open: key %s: %w", s.KeyID, ErrUnknownKey)
	}
	aead, err := gcmFor(use)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if len(s.Data) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("open: the sealed value is truncated")
	}
	nonce, ciphertext := s.Data[:aead.NonceSize()], s.Data[aead.NonceSize():]
	plaintext, err := aead.Open(nil, nonce, ciphertext, additional)
	if err != nil {
		return nil, errors.New("open: the sealed value does not belong to this row or was altered")
	}
	return plaintext, nil
}

// Stale reports whether s was sealed with a key other than the current
// one, so a rotation should seal it again.
func (k *Keyring) Stale(s Sealed) bool { return s.KeyID != k.current.id }
