package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses a command's flags wherever they stand among its
// arguments (`deploy DIR --name x` as well as `deploy --name x DIR`),
// which Go's flag package alone stops at the first argument for.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// newFlagSet makes a command's flag set; usage is its synopsis and what
// it does, printed by --help above the flags.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: coderunner %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// envFlags collects repeated --env K=V flags.
type envFlags map[string]string

func (e envFlags) String() string { return "" }

func (e envFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	e[k] = val
	return nil
}
