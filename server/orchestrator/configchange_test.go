package orchestrator

import "testing"

// A config release's description names the env vars that changed, added
// or went, never a value.
func TestConfigChangeNamesTheVariables(t *testing.T) {
	before := map[string]string{"A": "1", "B": "2", "GONE": "x"}
	after := map[string]string{"A": "1", "B": "3", "NEW": "secret-looking-value"}
	for _, c := range []struct {
		before, after map[string]string
		limits        bool
		want          string
	}{
		{before, after, false, "env changed: B, GONE, NEW"},
		{before, after, true, "env changed: B, GONE, NEW; limits changed"},
		{before, before, true, "limits changed"},
		{before, before, false, ""},
	} {
		if got := configChange(c.before, c.after, c.limits); got != c.want {
			t.Errorf("configChange(limits %v) = %q, want %q", c.limits, got, c.want)
		}
	}
}
