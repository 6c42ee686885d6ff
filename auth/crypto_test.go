package auth

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/igmcp/igmcp/store"
)

func TestLoadKey_GeneratesPrivateKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadKey(KeyConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %#o, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadKey(KeyConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := k1.seal([]byte("x"), []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := k2.open(sealed, []byte("ad")); err != nil || string(pt) != "x" {
		t.Fatalf("the second load read another key: %v", err)
	}
	if _, err := k2.open(sealed, []byte("other ad")); err == nil {
		t.Fatal("additional data must be checked")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestLoadKey_RefusesKeyFileOthersCanRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "key")
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(KeyConfig{KeyFile: path}); err != nil {
		t.Fatalf("a 0600 key file must load: %v", err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadKey(KeyConfig{KeyFile: path})
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("mode %#o: want refusal naming chmod 600, got %v", mode, err)
		}
	}
	// the generated key file is held to the same rule
	if _, err := LoadKey(KeyConfig{DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(KeyConfig{DataDir: dir}); err == nil {
		t.Fatal("a world-readable generated key file must be refused")
	}
}

func TestLoadKey_FromEnvironment(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	for _, enc := range []string{
		base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw), hex.EncodeToString(raw),
	} {
		if _, err := LoadKey(KeyConfig{Key: enc}); err != nil {
			t.Fatalf("%s: %v", enc, err)
		}
	}
	for _, bad := range []string{"short", base64.StdEncoding.EncodeToString(raw[:16]), "correct horse battery staple"} {
		if _, err := LoadKey(KeyConfig{Key: bad}); err == nil || strings.Contains(err.Error(), bad) {
			t.Fatalf("%q: want an error that does not echo the value, got %v", bad, err)
		}
	}
	if _, err := LoadKey(KeyConfig{Key: hex.EncodeToString(raw), KeyFile: "/x"}); err == nil {
		t.Fatal("both a key and a key file must be refused")
	}
}

func TestKeyCheck_WrongKeyIsAClearError(t *testing.T) {
	ts := newTestStore(t)
	ts.put(t, Record{AccountID: "1784", Login: LoginInstagram, Token: "IGAAkeep"})
	other, err := LoadKey(KeyConfig{Key: base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32)))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewTokenStore(context.Background(), ts.st, other)
	if !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), "IGMCP_SECRET_KEY") || !strings.Contains(err.Error(), "igmcp auth reset") {
		t.Fatalf("want ErrWrongKey naming the fix, got %v", err)
	}
	// the right key still works; a reset hands the store to the new key
	if _, err := NewTokenStore(context.Background(), ts.st, ts.key); err != nil {
		t.Fatal(err)
	}
	if err := ResetTokenStore(context.Background(), ts.st, other); err != nil {
		t.Fatal(err)
	}
	nt, err := NewTokenStore(context.Background(), ts.st, other)
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := nt.List(context.Background()); err != nil || len(recs) != 0 {
		t.Fatalf("after reset: %v %v", recs, err)
	}
	if _, err := ts.st.GetToken(context.Background(), "1784"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("reset must delete the records")
	}
}
