// Package secrets is the one place plaintext secret values pass through:
// it seals values for storage (AES-256-GCM with the standard library, a
// fresh nonce per value, the row's identity as additional data so a
// ciphertext cannot be moved to another row), opens them with the current
// or the previous key, and masks them in text. Everything else handles
// sealed values or names only; the sandbox's environment is the one place
// a value is given out.
package secrets
