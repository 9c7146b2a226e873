package secrets_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coderunner/coderunner/server/secrets"
)

func TestSealOpen(t *testing.T) {
	k, err := secrets.LoadKeyring(t.TempDir(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	ad := secrets.AdditionalData("dep-1", "API_KEY")
	a, err := k.Seal([]byte("s3cret-value"), ad)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.Seal([]byte("s3cret-value"), ad)
	if bytes.Equal(a.Data, b.Data) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if bytes.Contains(a.Data, []byte("s3cret-value")) {
		t.Error("the plaintext shows in the sealed value")
	}
	got, err := k.Open(a, ad)
	if err != nil || string(got) != "s3cret-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	// Moved to another row (deployment or name), it does not open.
	for _, other := range [][]byte{secrets.AdditionalData("dep-2", "API_KEY"), secrets.AdditionalData("dep-1", "OTHER")} {
		if _, err := k.Open(a, other); err == nil {
			t.Errorf("opened with additional data %q", other)
		}
	}
	tampered := secrets.Sealed{KeyID: a.KeyID, Data: append([]byte(nil), a.Data...)}
	tampered.Data[len(tampered.Data)-1] ^= 1
	if _, err := k.Open(tampered, ad); err == nil {
		t.Error("opened an altered value")
	}
	if _, err := k.Open(secrets.Sealed{KeyID: a.KeyID, Data: a.Data[:5]}, ad); err == nil {
		t.Error("opened a truncated value")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := secrets.LoadKeyring(dir, "", "")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(dir, secrets.KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", info, err)
	}
	k2, err := secrets.LoadKeyring(dir, "", "")
	if err != nil || k2.CurrentID() != k1.CurrentID() {
		t.Fatalf("second load: %v, id %s vs %s", err, k2.CurrentID(), k1.CurrentID())
	}
	sealed, _ := k1.Seal([]byte("value-123"), nil)
	if got, err := k2.Open(sealed, nil); err != nil || string(got) != "value-123" {
		t.Fatalf("a restarted server cannot open: %q, %v", got, err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := secrets.NewKey(), secrets.NewKey()
	before, err := secrets.LoadKeyring(t.TempDir(), oldKey, "")
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := before.Seal([]byte("value-123"), nil)

	after, err := secrets.LoadKeyring(t.TempDir(), newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Stale(sealed) {
		t.Error("a value sealed with the previous key is not stale")
	}
	got, err := after.Open(sealed, nil)
	if err != nil || string(got) != "value-123" {
		t.Fatalf("the previous key does not open: %q, %v", got, err)
	}
	resealed, _ := after.Seal(got, nil)
	if after.Stale(resealed) {
		t.Error("a value sealed again is still stale")
	}

	without, _ := secrets.LoadKeyring(t.TempDir(), newKey, "")
	if _, err := without.Open(sealed, nil); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("Open with the previous key gone = %v, want ErrUnknownKey", err)
	}
}

func TestBadKeys(t *testing.T) {
	for name, value := range map[string]string{
		"not base64": "this is not base64!",
		"too short":  base64.StdEncoding.EncodeToString([]byte("short")),
	} {
		_, err := secrets.LoadKeyring(t.TempDir(), value, "")
		if err == nil || !strings.Contains(err.Error(), secrets.EnvKey) || !strings.Contains(err.Error(), "head -c 32 /dev/urandom | base64") {
			t.Errorf("%s: %v", name, err)
		}
		_, err = secrets.LoadKeyring(t.TempDir(), "", value)
		if err == nil || !strings.Contains(err.Error(), secrets.EnvPreviousKey) {
			t.Errorf("%s as the previous key: %v", name, err)
		}
	}
}

func TestMask(t *testing.T) {
	m := secrets.NewMasker(map[string]string{
		"API_KEY":  "sk_live_abc123",
		"PASSWORD": "p@ss w/rd&more",
		"SHORT":    "12345",
		"PREFIX":   "sk_live",
	})
	cases := map[string]string{
		"key=sk_live_abc123 done": "key=[secret:API_KEY] done",
		"sk_live only":            "[secret:PREFIX] only",
		"auth " + base64.StdEncoding.EncodeToString([]byte("sk_live_abc123")): "auth [secret:API_KEY]",
		"db?pw=" + url.QueryEscape("p@ss w/rd&more"):                          "db?pw=[secret:PASSWORD]",
		"path/" + url.PathEscape("p@ss w/rd&more"):                            "path/[secret:PASSWORD]",
		"12345 is too short to mask":                                          "12345 is too short to mask",
		"twice sk_live_abc123sk_live_abc123":                                  "twice [secret:API_KEY][secret:API_KEY]",
	}
	for in, want := range cases {
		if got := m.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
	none := secrets.NewMasker(map[string]string{"X": "short"})
	if none != nil || none.Mask("short") != "short" {
		t.Error("a masker without maskable values should be nil and mask nothing")
	}
}

// BenchmarkMask20 masks log lines with 20 secrets set: ingest must stay at
// 100 k lines/s or more with them.
func BenchmarkMask20(b *testing.B) {
	values := map[string]string{}
	for i := range 20 {
		values[fmt.Sprintf("SECRET_%d", i)] = fmt.Sprintf("value-%02d-%s", i, strings.Repeat("x", 24))
	}
	m := secrets.NewMasker(values)
	line := `2026-12-06T12:00:00Z GET /api/items?page=2 200 3.1ms user=42 agent="Mozilla/5.0 (X11; Linux x86_64)"`
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Mask(line)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
