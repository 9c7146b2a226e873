package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// Ignore files read in every directory of the folder being deployed:
// .gitignore as git reads it, and .coderunnerignore in the same syntax
// for what should stay out of deploys only.
var ignoreFiles = []string{".gitignore", ".coderunnerignore"}

// alwaysIgnored never leave the machine: dependencies are installed by
// the build, git history is not the app, and stateFile is the CLI's own.
var alwaysIgnored = []string{"node_modules/", ".git/", stateFile}

// pack writes dir as a gzipped tar, skipping what the ignore files and
// alwaysIgnored exclude. It returns the archive and the files it holds.
func pack(dir string) ([]byte, int, error) {
	// The always-ignored are matched apart from the ignore files, so a
	// negation there (!node_modules/) cannot bring them back.
	var never, patterns []gitignore.Pattern
	for _, p := range alwaysIgnored {
		never = append(never, gitignore.ParsePattern(p, nil))
	}
	neverSent := gitignore.NewMatcher(never)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := 0
	err := filepath.WalkDir(dir, func(path string, entry fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if rel == "." {
			patterns = append(patterns, readIgnoreFiles(path, nil)...)
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if neverSent.Match(parts, entry.IsDir()) || gitignore.NewMatcher(patterns).Match(parts, entry.IsDir()) {
			if entry.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if entry.IsDir() {
			// Patterns of a nested ignore file apply below it only; the
			// walk is depth-first in lexical order, so they may be added
			// for the rest of the walk without leaking into siblings,
			// which their domain (the directory's path) excludes.
			patterns = append(patterns, readIgnoreFiles(path, parts)...)
			return nil
		}
		info, err := entry.Info()
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil // symlinks and devices are not sent
		}
		files++
		return addFile(tw, path, filepath.ToSlash(rel), info)
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("packing %s: %w", dir, err)
	}
	return buf.Bytes(), files, nil
}

func addFile(tw *tar.Writer, path, name string, info fs.FileInfo) error {
	hdr := &tar.Header{Name: name, Mode: int64(info.Mode().Perm()), Size: info.Size(), ModTime: info.ModTime(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	_, err = io.CopyN(tw, f, info.Size())
	return err
}

// readIgnoreFiles parses the ignore files of one directory; domain is the
// directory's path in the folder, which scopes the patterns to it.
func readIgnoreFiles(dir string, domain []string) []gitignore.Pattern {
	var patterns []gitignore.Pattern
	for _, name := range ignoreFiles {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			line := strings.TrimRight(scanner.Text(), "\r")
			if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
				continue
			}
			patterns = append(patterns, gitignore.ParsePattern(line, domain))
		}
		_ = f.Close()
	}
	return patterns
}
