package testenv

import (
	"os"
	"path/filepath"
	"testing"

	coderunnerv1 "github.com/coderunner/coderunner/gen/coderunner/v1"
)

// SourceFiles loads every file under dir as deployment source, with paths
// relative to dir.
func SourceFiles(t testing.TB, dir string) []*coderunnerv1.SourceFile {
	t.Helper()
	var files []*coderunnerv1.SourceFile
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files = append(files, &coderunnerv1.SourceFile{Path: filepath.ToSlash(rel), Content: content})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
