package secrets

import (
	"cmp"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
)

// MinMaskedLength is the shortest value masked: shorter ones (a "1", a
// "true") would blank out ordinary text.
const MinMaskedLength = 6

// Masker replaces every occurrence of a secret value in text with
// [secret:NAME]. A nil *Masker masks nothing.
type Masker struct {
	replacer *strings.Replacer
}

// NewMasker masks values (by name) of MinMaskedLength or more, and their
// base64 and URL-encoded forms, which is how values most often leak
// (an Authorization header, a connection string in a URL). It returns nil
// when there is nothing to mask.
func NewMasker(values map[string]string) *Masker {
	type form struct{ text, name string }
	var forms []form
	for name, value := range values {
		if len(value) < MinMaskedLength {
			continue
		}
		for _, text := range []string{
			value,
			base64.StdEncoding.EncodeToString([]byte(value)),
			base64.RawStdEncoding.EncodeToString([]byte(value)),
			base64.URLEncoding.EncodeToString([]byte(value)),
			url.QueryEscape(value),
			url.PathEscape(value),
		} {
			forms = append(forms, form{text, name})
		}
	}
	if len(forms) == 0 {
		return nil
	}
	// At a position, strings.Replacer takes the first pair in argument
	// order that matches: longer texts first, so a value that contains
	// another is masked whole.
	slices.SortFunc(forms, func(a, b form) int {
		return cmp.Or(cmp.Compare(len(b.text), len(a.text)), cmp.Compare(a.text, b.text))
	})
	forms = slices.CompactFunc(forms, func(a, b form) bool { return a.text == b.text })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f.text, "[secret:"+f.name+"]")
	}
	return &Masker{replacer: strings.NewReplacer(pairs...)}
}

// Mask returns text with every secret value replaced.
func (m *Masker) Mask(text string) string {
	if m == nil {
		return text
	}
	return m.replacer.Replace(text)
}
