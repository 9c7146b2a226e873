package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// stateFile, in a deployed folder, remembers which deployment it became,
// so the next `coderunner deploy` redeploys it.
const stateFile = ".coderunner.json"

type folderState struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Server string `json:"server"`
}

var invalidNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// nameFor turns a folder name into a valid deployment name
// (^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$).
func nameFor(folder string) string {
	n := strings.Trim(invalidNameChars.ReplaceAllString(strings.ToLower(folder), "-"), "-")
	n = strings.TrimLeft(n, "0123456789-")
	if len(n) > 40 {
		n = strings.TrimRight(n[:40], "-")
	}
	if n == "" {
		n = "app"
	}
	return n
}

func readState(dir string) (folderState, error) {
	var s folderState
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(data, &s)
}

func writeState(dir string, s folderState) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, stateFile), append(data, '\n'), 0o644)
}
