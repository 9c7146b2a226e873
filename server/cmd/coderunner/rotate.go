package main

import (
	"context"
	"fmt"
	"os"

	"github.com/coderunner/coderunner/server/appconfig"
	"github.com/coderunner/coderunner/server/config"
	"github.com/coderunner/coderunner/server/secrets"
	"github.com/coderunner/coderunner/server/store"
)

// rotateSecrets seals every stored secret again with the current key. The
// steps of a rotation: start the servers with the new key in
// CODERUNNER_SECRET_KEY and the old one in CODERUNNER_SECRET_KEY_PREVIOUS
// (they open both), run this once, then drop the previous key.
func rotateSecrets(args []string) error {
	cfg, err := config.Parse(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, err := store.Open(ctx, cfg.DatabaseURL, cfg.DataDir)
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	keys, err := secrets.LoadKeyring(cfg.DataDir, cfg.SecretKey, cfg.SecretKeyPrevious)
	if err != nil {
		return err
	}
	n, err := appconfig.New(db, keys, nil).Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("sealed %d secrets again with key %s\n", n, keys.CurrentID())
	return nil
}
