package dotenv

import (
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	vars, err := Parse(strings.Join([]string{
		"# a comment",
		"",
		"PLAIN=value",
		"export EXPORTED=yes",
		"SPACED = trimmed value  # and a comment",
		`DOUBLE="two\nlines \"quoted\" \$HOME"`,
		`SINGLE='literal \n # not a comment'`,
		"EMPTY=",
		"URL=postgres://u:p@h:5432/db?sslmode=disable",
	}, "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Variable{
		{"PLAIN", "value"}, {"EXPORTED", "yes"}, {"SPACED", "trimmed value"},
		{"DOUBLE", "two\nlines \"quoted\" $HOME"}, {"SINGLE", `literal \n # not a comment`},
		{"EMPTY", ""}, {"URL", "postgres://u:p@h:5432/db?sslmode=disable"},
	}
	if !slices.Equal(vars, want) {
		t.Errorf("got  %q\nwant %q", vars, want)
	}
}

func TestParseDotenvErrors(t *testing.T) {
	for text, want := range map[string]string{
		"A=1\nno equals sign":                "line 2: expected NAME=value",
		"1BAD=x":                             `line 1: "1BAD" is not a variable name`,
		"\n\nPORT=80":                        "line 3: PORT and HOST are set by CodeRunner",
		"A=1\nA=2":                           "line 2: A is already set on line 1",
		`A="open`:                            "line 1: a double-quoted value does not end",
		"A='open":                            "line 1: a single-quoted value does not end",
		`A="x" trailing`:                     "line 1: unexpected text after the quoted value",
		"A=" + strings.Repeat("x", 32<<10+1): "line 1: the value of A is over 32 KiB",
	} {
		_, err := Parse(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.30q) = %v, want %q", text, err, want)
		}
	}
}

// TestDotenvRoundTrip: what Export writes, Import reads back unchanged.
func TestDotenvRoundTrip(t *testing.T) {
	values := []string{"plain", "", "with space", `quote " and \ backslash`, "two\nlines\r\n", "$HOME and ${X}", "#hash", "tab\there", "ünïcode"}
	var text strings.Builder
	for i, v := range values {
		text.WriteString(Line("V"+string(rune('A'+i)), v))
	}
	vars, err := Parse(text.String())
	if err != nil {
		t.Fatalf("%v in:\n%s", err, text.String())
	}
	for i, v := range vars {
		if v.Value != values[i] {
			t.Errorf("%s: %q became %q (line %q)", v.Name, values[i], v.Value, strings.Split(text.String(), "\n")[i])
		}
	}
}
