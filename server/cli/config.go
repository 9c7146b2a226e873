package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Credentials are what `coderunner login` keeps: where the server is and
// the token to call it with.
type Credentials struct {
	Server string `json:"server"`
	Token  string `json:"token"`
	// Email is who logged in, when it was with a password; for messages.
	Email string `json:"email,omitempty"`
}

// configPath is $XDG_CONFIG_HOME/coderunner/config.json, falling back to
// ~/.config as the XDG base directory specification says.
func configPath(getenv func(string) string) (string, error) {
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: cannot find the config file")
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "coderunner", "config.json"), nil
}

// loadCredentials reads the config file; the environment overrides it.
func loadCredentials(getenv func(string) string) (Credentials, error) {
	var c Credentials
	path, err := configPath(getenv)
	if err != nil {
		return c, err
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return c, err
	default:
		if err := json.Unmarshal(data, &c); err != nil {
			return c, fmt.Errorf("%s is not valid JSON: %w (log in again to rewrite it)", path, err)
		}
	}
	if v := getenv("CODERUNNER_SERVER"); v != "" {
		c.Server = v
	}
	if v := getenv("CODERUNNER_TOKEN"); v != "" {
		c.Token = v
	}
	if c.Token == "" {
		return c, errors.New("not logged in: run `coderunner login --server URL` first (or set CODERUNNER_TOKEN)")
	}
	if c.Server == "" {
		c.Server = defaultServer
	}
	return c, nil
}

// saveCredentials writes the config file with mode 0600: it holds a token.
func saveCredentials(getenv func(string) string, c Credentials) (string, error) {
	path, err := configPath(getenv)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return "", err
	}
	// WriteFile keeps the mode of a file that exists; make sure.
	if err := os.Chmod(tmp, 0o600); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}
