package manifest

import "time"

// dateLayout is how dates and timestamps are stored: UTC with a fixed width,
// so that text order is time order.
const dateLayout = "2006-01-02T15:04:05.000000000Z"

// parseDate reads an RFC 3339 date-time, or a full date (midnight UTC), and
// returns its stored form.
func parseDate(s string) (string, bool) {
	var t time.Time
	var err error
	if len(s) == len("2006-01-02") {
		t, err = time.Parse("2006-01-02", s)
	} else {
		t, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return "", false
	}
	t = t.UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return "", false
	}
	return t.Format(dateLayout), true
}

// formatTime is the stored form of t.
func formatTime(t time.Time) string { return t.UTC().Format(dateLayout) }

// displayDate turns a stored date into RFC 3339 as served: the fraction of
// seconds loses its trailing zeros, and its dot when nothing is left.
func displayDate(s string) string {
	if len(s) != len(dateLayout) || s[19] != '.' {
		return s // not written by this package; serve it as it is
	}
	end := len(s) - 1 // the Z
	i := end
	for i > 20 && s[i-1] == '0' {
		i--
	}
	if i == 20 {
		return s[:19] + "Z"
	}
	return s[:i] + "Z"
}
