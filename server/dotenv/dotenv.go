// Package dotenv reads and writes .env files: what ConfigService imports
// and exports, and what the CLI sends. One parser and one writer, so what
// is written reads back unchanged.
package dotenv

import (
	"regexp"
	"strings"

	"github.com/coderunner/coderunner/server/errs"
)

// Variable is one KEY=value of a .env file.
type Variable struct {
	Name, Value string
}

var (
	envName    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	plainValue = regexp.MustCompile(`^[A-Za-z0-9_./:@%+,=-]*$`)
	escaper    = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "$", `\$`)
)

// Parse reads KEY=value lines: blank lines and # comments are
// skipped, an "export " prefix is allowed, a value may be bare (trimmed,
// ending at " #"), 'single-quoted' (literal) or "double-quoted" (with \n,
// \r, \", \\ and \$ escapes). Names follow env-var rules and may not be
// PORT or HOST. An error names the line.
func Parse(text string) ([]Variable, error) {
	var vars []Variable
	seen := map[string]int{}
	for i, line := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, raw, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return nil, dotenvError(n, "expected NAME=value")
		}
		if !envName.MatchString(name) {
			return nil, dotenvError(n, "%q is not a variable name (letters, digits and _, not starting with a digit)", name)
		}
		if name == "PORT" || name == "HOST" {
			return nil, dotenvError(n, "PORT and HOST are set by CodeRunner")
		}
		if first, dup := seen[name]; dup {
			return nil, dotenvError(n, "%s is already set on line %d", name, first)
		}
		value, err := dotenvValue(strings.TrimSpace(raw))
		if err != "" {
			return nil, dotenvError(n, "%s", err)
		}
		if len(value) > 32<<10 {
			return nil, dotenvError(n, "the value of %s is over 32 KiB", name)
		}
		seen[name] = n
		vars = append(vars, Variable{Name: name, Value: value})
	}
	return vars, nil
}

func dotenvError(line int, format string, args ...any) error {
	args = append([]any{line}, args...)
	return errs.Field(errs.KindInvalidArgument, "dotenv", "line %d: "+format, args...)
}

// dotenvValue unquotes raw; a problem is returned as its message.
func dotenvValue(raw string) (string, string) {
	switch {
	case strings.HasPrefix(raw, "'"):
		end := strings.IndexByte(raw[1:], '\'')
		if end < 0 {
			return "", "a single-quoted value does not end"
		}
		return raw[1 : 1+end], trailing(raw[2+end:])
	case strings.HasPrefix(raw, `"`):
		var b strings.Builder
		for i := 1; i < len(raw); i++ {
			switch c := raw[i]; {
			case c == '"':
				return b.String(), trailing(raw[i+1:])
			case c == '\\' && i+1 < len(raw):
				i++
				b.WriteByte(unescape(raw[i]))
			default:
				b.WriteByte(c)
			}
		}
		return "", "a double-quoted value does not end"
	default:
		if i := strings.Index(raw, " #"); i >= 0 {
			raw = raw[:i]
		}
		return strings.TrimSpace(raw), ""
	}
}

// unescape is the byte a backslash escape in a double-quoted value means.
func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	default:
		return c // \" \\ \$ and anything else: the byte itself
	}
}

// trailing accepts what may follow a quoted value: spaces and a comment.
func trailing(rest string) string {
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "#") {
		return ""
	}
	return "unexpected text after the quoted value"
}

// Line writes one KEY=value line, double-quoting a value that holds
// anything beyond a conservative set of characters.
func Line(name, value string) string {
	if plainValue.MatchString(value) {
		return name + "=" + value + "\n"
	}
	return name + `="` + escaper.Replace(value) + "\"\n"
}
