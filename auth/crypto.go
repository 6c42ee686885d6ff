package auth

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeyFileName is the generated key's name inside the data directory.
const KeyFileName = "secret.key"

// keyCheckName is the store Meta entry holding a value sealed with the key,
// so a wrong key is detected before any token is read or written.
const keyCheckName = "auth.key_check.v1"

const (
	sealVersion  = 1
	keyCheckText = "igmcp token store key check"
	keyCheckAD   = "igmcp/key-check/v1"
	tokenADPref  = "igmcp/token/v1:"
)

// ErrWrongKey means the secret key does not open the token store: it was
// encrypted with another key.
var ErrWrongKey = errors.New("auth: the secret key does not match the token store")

// KeyConfig says where the AES-256 key comes from: Key (IGMCP_SECRET_KEY),
// else KeyFile (IGMCP_SECRET_KEY_FILE), else DataDir/secret.key, generated
// with mode 0600 when missing. A key is 32 bytes written as base64 or hex.
type KeyConfig struct {
	Key     string
	KeyFile string
	DataDir string
}

// Sealer encrypts token records with AES-256-GCM. The zero value is unusable;
// build one with LoadKey.
type Sealer struct {
	aead   cipher.AEAD
	source string
}

// Source says where the key came from (an env variable name or a file
// path), for messages; never the key.
func (s *Sealer) Source() string { return s.source }

// LoadKey finds, reads or generates the key. A key file that group or
// others may read (or write) is refused: it guards every stored token.
func LoadKey(cfg KeyConfig) (*Sealer, error) {
	switch {
	case cfg.Key != "" && cfg.KeyFile != "":
		return nil, errors.New("set IGMCP_SECRET_KEY or IGMCP_SECRET_KEY_FILE, not both")
	case cfg.Key != "":
		k, err := parseKey(cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("IGMCP_SECRET_KEY: %w", err)
		}
		return newSealer(k, "IGMCP_SECRET_KEY")
	case cfg.KeyFile != "":
		k, err := readKeyFile(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("IGMCP_SECRET_KEY_FILE: %w", err)
		}
		return newSealer(k, cfg.KeyFile)
	case cfg.DataDir == "":
		return nil, errors.New("no secret key: set IGMCP_SECRET_KEY, IGMCP_SECRET_KEY_FILE or IGMCP_DATA_DIR")
	}
	path := filepath.Join(cfg.DataDir, KeyFileName)
	k, err := readKeyFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, err = generateKeyFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return newSealer(k, path)
}

func newSealer(key []byte, source string) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, source: source}, nil
}

// parseKey accepts 32 bytes as hex (64 digits) or base64 (standard or URL
// alphabet, padded or not), e.g. the output of `openssl rand -base64 32`.
func parseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("the key must be 32 random bytes written as base64 or hex (e.g. `openssl rand -base64 32`)")
}

// readKeyFile reads a key file after checking, on the open file itself, that
// only its owner may use it.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable or writable by other users (mode %#o): refusing to use it; run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, err
	}
	k, err := parseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// generateKeyFile writes a new random key with mode 0600. It is written to
// a temporary file and linked into place, so a second process starting at
// the same moment either wins or reads the complete winner.
func generateKeyFile(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, ".secret-*.key")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return readKeyFile(path)
		}
		return nil, err
	}
	return key, nil
}

// seal encrypts plaintext bound to ad: version | nonce | ciphertext+tag.
func (s *Sealer) seal(plaintext, ad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, plaintext, ad), nil
}

func (s *Sealer) open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("auth: sealed value has an unknown format")
	}
	return s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad)
}

// MetaStore is the part of the store the key check uses.
type MetaStore interface {
	PutMetaIfAbsent(ctx context.Context, name string, value []byte) ([]byte, bool, error)
}

// Check proves the key is the one the store's tokens were sealed with: the
// first key to use a store leaves a sealed check value, and every later key
// must open it.
func (s *Sealer) Check(ctx context.Context, m MetaStore) error {
	v, err := s.seal([]byte(keyCheckText), []byte(keyCheckAD))
	if err != nil {
		return err
	}
	stored, _, err := m.PutMetaIfAbsent(ctx, keyCheckName, v)
	if err != nil {
		return err
	}
	pt, err := s.open(stored, []byte(keyCheckAD))
	if err != nil || !bytes.Equal(pt, []byte(keyCheckText)) {
		return fmt.Errorf("%w: the stored accounts were encrypted with another key than the one from %s. "+
			"Set IGMCP_SECRET_KEY or IGMCP_SECRET_KEY_FILE to the original key, or run `igmcp auth reset --yes` "+
			"to forget every stored account and start over with this key", ErrWrongKey, s.source)
	}
	return nil
}

// resetCheck replaces the check value with one sealed by this key (after
// every token was deleted).
func (s *Sealer) resetCheck(ctx context.Context, put func(ctx context.Context, name string, value []byte) error) error {
	v, err := s.seal([]byte(keyCheckText), []byte(keyCheckAD))
	if err != nil {
		return err
	}
	return put(ctx, keyCheckName, v)
}
