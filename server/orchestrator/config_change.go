package orchestrator

import (
	"slices"
	"strings"
)

// configChange describes an UpdateDeployment's change to the
// configuration a release records, naming the env vars it changed (not
// their values), or "" when there is none.
func configChange(before, after map[string]string, limits bool) string {
	changed := ChangedNames(before, after)
	env := "env changed: " + strings.Join(changed, ", ")
	switch {
	case len(changed) > 0 && limits:
		return env + "; limits changed"
	case len(changed) > 0:
		return env
	case limits:
		return "limits changed"
	}
	return ""
}

// ChangedNames returns, sorted, the names whose value differs between
// two sets of variables: set, changed or removed.
func ChangedNames(before, after map[string]string) []string {
	var changed []string
	for name, value := range after {
		if old, ok := before[name]; !ok || old != value {
			changed = append(changed, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			changed = append(changed, name)
		}
	}
	slices.Sort(changed)
	return changed
}
