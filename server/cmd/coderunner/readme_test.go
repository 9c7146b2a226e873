package main

// TestReadme runs the README's shell blocks, so the documentation cannot
// drift from the code. Every ```sh block from "## Quick start" to the end of
// "## Command line" runs, in order, against a real `coderunner serve`, with
// `bin/coderunner` meaning this test binary and a config dir of its own. HTML
// comments on the lines right before a block (invisible on GitHub) say what
// to expect of it:
//
//	<!-- readme-test: skip -->                 the block does not run (make run)
//	<!-- readme-test: expect TEXT -->          its stdout contains TEXT (repeatable)
//	<!-- readme-test: error CODE -->           it prints a Connect error with this code
//
// Without an error marker a block must exit 0 and print no Connect error.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coderunner/coderunner/server/testenv"
)

// readmeBlockTimeout bounds one block: the slowest waits up to 60 s for a
// deployment, and the first `go tool grpcurl` may have to build it.
const readmeBlockTimeout = 3 * time.Minute

// The sections whose blocks run: from the first heading up to the level-2
// heading that follows the last one.
const (
	readmeFirstSection = "## Quick start"
	readmeLastSection  = "## Command line"
)

// readmeBlock is one ```sh block of the README and what it must print.
type readmeBlock struct {
	line    int // of the opening fence, 1-based
	script  string
	skip    bool
	expects []string
	errCode string // the Connect code it must print; empty means none
}

// name is what the block's subtest is called: its line and first command.
func (b readmeBlock) name() string {
	for _, l := range strings.Split(b.script, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			l = strings.TrimSpace(strings.TrimSuffix(l, `\`))
			if r := []rune(l); len(r) > 80 {
				l = string(r[:80]) + "…"
			}
			return fmt.Sprintf("L%d %s", b.line, l)
		}
	}
	return fmt.Sprintf("L%d", b.line)
}

var readmeMarker = regexp.MustCompile(`^<!-- readme-test: (\S+)\s*(.*?)\s*-->$`)

// readmeBlocks parses the sh blocks of the tested sections, with their
// markers. A marker that is not right before an sh block, or one it does not
// know, is an error: a typo must not silently disable a check.
func readmeBlocks(text string) ([]readmeBlock, error) {
	var (
		blocks  []readmeBlock
		pending *readmeBlock // markers seen, waiting for their block
		inRange bool
		done    bool
		fence   string // "sh", another info string, or "" outside fences
		cur     *readmeBlock
		body    strings.Builder
	)
	sc := bufio.NewScanner(strings.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if fence != "" {
			if strings.TrimSpace(line) == "```" {
				if cur != nil {
					cur.script = body.String()
					blocks = append(blocks, *cur)
					cur = nil
				}
				fence = ""
			} else if cur != nil {
				body.WriteString(line + "\n")
			}
			continue
		}
		if strings.HasPrefix(line, "## ") {
			switch {
			case line == readmeFirstSection:
				inRange = true
			case inRange && done:
				inRange = false
			}
			if line == readmeLastSection {
				done = true
			}
		}
		if !inRange {
			continue
		}
		if m := readmeMarker.FindStringSubmatch(line); m != nil {
			if pending == nil {
				pending = &readmeBlock{}
			}
			switch m[1] {
			case "skip":
				pending.skip = true
			case "expect":
				if m[2] == "" {
					return nil, fmt.Errorf("README.md:%d: expect without text", n)
				}
				pending.expects = append(pending.expects, m[2])
			case "error":
				if m[2] == "" {
					return nil, fmt.Errorf("README.md:%d: error without a code", n)
				}
				pending.errCode = m[2]
			default:
				return nil, fmt.Errorf("README.md:%d: unknown marker %q (skip, expect or error)", n, m[1])
			}
			continue
		}
		if strings.HasPrefix(line, "```") {
			fence = strings.TrimSpace(strings.TrimPrefix(line, "```"))
			if fence == "" {
				fence = "text"
			}
			if fence == "sh" {
				cur = &readmeBlock{}
				if pending != nil {
					cur = pending
				}
				cur.line = n
				body.Reset()
			} else if pending != nil {
				return nil, fmt.Errorf("README.md:%d: readme-test marker before a %q block, not sh", n, fence)
			}
			pending = nil
			continue
		}
		if pending != nil {
			return nil, fmt.Errorf("README.md:%d: readme-test markers must be on the lines right before a ```sh block", n)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if fence != "" {
		return nil, fmt.Errorf("README.md: unclosed code block")
	}
	return blocks, nil
}

// readmeHarness wraps a block so that it starts with the shell variables
// earlier blocks set and, on exit, saves the ones it has set for the next
// block: every variable the bare shell does not have, and environment
// variables it changed (a TOKEN or URL in the environment must not hide the
// README's own).
const readmeHarness = `__readme_vars=" $(compgen -v | tr '\n' ' ') "
declare -A __readme_env
for __readme_v in $(compgen -e); do __readme_env[$__readme_v]=${!__readme_v}; done
__readme_save() {
  local __readme_v
  for __readme_v in $(compgen -v); do
    case "$__readme_v" in __readme* | FUNCNAME | PIPESTATUS | BASH*) continue ;; esac
    case "$__readme_vars" in
    *" $__readme_v "*)
      [ -v "__readme_env[$__readme_v]" ] && [ "${!__readme_v}" != "${__readme_env[$__readme_v]}" ] || continue ;;
    esac
    declare -p "$__readme_v"
  done >"$README_STATE.new" && mv "$README_STATE.new" "$README_STATE"
}
trap __readme_save EXIT
source "$README_STATE"
`

func TestReadme(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "timeout", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's examples need %s (apt-get install %s)", tool, tool)
		}
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 10 {
		t.Fatalf("found %d sh blocks in the README's tested sections; did a heading change?", len(blocks))
	}

	dir := testenv.DataDir(t)
	p := startServe(t, []string{"DATABASE_URL=", "CODERUNNER_JWT_SECRET="},
		"--data-dir", filepath.Join(dir, "data"))
	defer p.stop(t)
	// The README talks to `make run`'s server on localhost:8080; this one
	// listens on another port, so the blocks are run with it instead.
	hostPort := strings.Replace(strings.TrimPrefix(p.url, "http://"), "127.0.0.1", "localhost", 1)

	state := filepath.Join(t.TempDir(), "state.sh")
	if err := os.WriteFile(state, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cli := readmeCLI(t, root)
	env := []string{"README_STATE=" + state, "XDG_CONFIG_HOME=" + t.TempDir(), "CODERUNNER_SERVER=", "CODERUNNER_TOKEN="}
	for i, b := range blocks {
		if b.skip {
			t.Logf("README.md:%d: skipped (readme-test: skip)", b.line)
			continue
		}
		for i, want := range b.expects {
			b.expects[i] = strings.ReplaceAll(want, "localhost:8080", hostPort)
		}
		script := strings.ReplaceAll(b.script, "localhost:8080", hostPort)
		script = readmeHarness + strings.ReplaceAll(script, "bin/coderunner ", cli+" ")
		if !t.Run(b.name(), func(t *testing.T) { runReadmeBlock(t, root, env, b, script) }) {
			t.Fatalf("README.md:%d failed; the %d blocks after it depend on it and were not run", b.line, len(blocks)-i-1)
		}
	}
}

// readmeCLI writes a `coderunner` that runs this test binary's main, for
// the blocks that run bin/coderunner, and removes the .coderunner.json
// files their deploys leave in examples/ afterwards.
func readmeCLI(t *testing.T, root string) string {
	t.Helper()
	before, _ := filepath.Glob(filepath.Join(root, "examples", "*", ".coderunner.json"))
	t.Cleanup(func() {
		after, _ := filepath.Glob(filepath.Join(root, "examples", "*", ".coderunner.json"))
		for _, f := range after {
			if !slices.Contains(before, f) {
				_ = os.Remove(f)
			}
		}
	})
	path := filepath.Join(t.TempDir(), "coderunner")
	wrapper := fmt.Sprintf("#!/bin/sh\nCODERUNNER_TEST_MAIN=1 exec %q \"$@\"\n", os.Args[0])
	if err := os.WriteFile(path, []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// runReadmeBlock runs one block in its own bash from the repository root and
// checks its exit status and output.
func runReadmeBlock(t *testing.T, root string, env []string, b readmeBlock, script string) {
	ctx, cancel := context.WithTimeout(context.Background(), readmeBlockTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-eo", "pipefail", "-c", script)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	// The block's own children (curl, buf, a sleep) go with it on timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	out := stdout.String()

	var problems []string
	switch {
	case ctx.Err() != nil:
		problems = append(problems, fmt.Sprintf("did not finish within %s", readmeBlockTimeout))
	case runErr != nil:
		problems = append(problems, fmt.Sprintf("exited with %v", runErr))
	}
	if b.errCode != "" {
		if want := `"code":"` + b.errCode + `"`; !strings.Contains(out, want) {
			problems = append(problems, fmt.Sprintf("printed no %s (readme-test: error %s)", want, b.errCode))
		}
	} else if strings.Contains(out, `"code":"`) {
		problems = append(problems, `printed a Connect error ("code":"...") and has no readme-test: error marker`)
	}
	if strings.Contains(out, "404 page not found") {
		problems = append(problems, "printed 404 page not found (an unknown RPC or path)")
	}
	for _, want := range b.expects {
		if !strings.Contains(out, want) {
			problems = append(problems, fmt.Sprintf("stdout lacks `%s` (readme-test: expect)", want))
		}
	}
	if len(problems) > 0 {
		t.Errorf("README.md:%d: the block %s (after %s)\n--- block:\n%s--- stdout:\n%s--- stderr:\n%s",
			b.line, strings.Join(problems, "; "), time.Since(start).Round(time.Millisecond), b.script, out, stderr.String())
	}
}

// TestReadmeBlocks checks the parser: which blocks run, with which markers,
// and that a misplaced or misspelt marker is an error, not a silent skip.
func TestReadmeBlocks(t *testing.T) {
	const head = "# Title\n```sh\nnot in range\n```\n## Quick start\n"
	const tail = "## Command line\n```sh\nlast\n```\n## Endpoints\n```sh\nnot in range either\n```\n"
	blocks, err := readmeBlocks(head +
		"<!-- readme-test: skip -->\n```sh\nmake run\n```\n" +
		"```json\n## not a heading\n```\n" +
		"<!-- readme-test: expect \"a\": 1 -->\n<!-- readme-test: expect b -->\n<!-- readme-test: error not_found -->\n" +
		"```sh\n# a comment\ncurl -s x \\\n  -d y\n```\n" + tail)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range blocks {
		got = append(got, fmt.Sprintf("%s skip=%v expects=%q err=%q", b.name(), b.skip, b.expects, b.errCode))
	}
	want := []string{
		`L7 make run skip=true expects=[] err=""`,
		`L16 curl -s x skip=false expects=["\"a\": 1" "b"] err="not_found"`,
		`L22 last skip=false expects=[] err=""`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("blocks:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for name, body := range map[string]string{
		"unknown marker":   "<!-- readme-test: expcet x -->\n```sh\ntrue\n```\n",
		"blank line after": "<!-- readme-test: skip -->\n\n```sh\ntrue\n```\n",
		"before json":      "<!-- readme-test: expect x -->\n```json\n{}\n```\n",
		"empty expect":     "<!-- readme-test: expect -->\n```sh\ntrue\n```\n",
	} {
		if _, err := readmeBlocks(head + body + tail); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := readmeBlocks(head + "```sh\ntrue\n"); err == nil {
		t.Errorf("unclosed block: no error")
	}
}
