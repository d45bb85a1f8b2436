// Package vault encrypts the secrets vulnsync must keep but never show: Jira
// API tokens, PATs and webhook secrets. They are sealed with AES-256-GCM
// under one key, taken from VULNSYNC_SECRET_KEY or from a key file that is
// generated (mode 0600) in the data directory on first start, so a copy of
// the database alone reveals nothing.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the generated key file in the data directory.
const KeyFile = "secret.key"

// sealedPrefix marks sealed values and their format version, so a future
// key rotation can tell formats apart.
const sealedPrefix = "v1:"

// Vault seals and opens secrets with one AES-256-GCM key.
type Vault struct {
	aead cipher.AEAD
}

// New returns a vault for a 32-byte key.
func New(key []byte) (*Vault, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("vault key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("vault gcm: %w", err)
	}
	return &Vault{aead: aead}, nil
}

// Load returns the vault for this installation: the key from envKey
// (base64 of 32 bytes) when set, else the key file in dataDir, created with
// mode 0600 when it does not exist. A key file readable by others is refused.
func Load(envKey, dataDir string) (*Vault, error) {
	if envKey != "" {
		key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(envKey))
		if err != nil || len(key) != 32 {
			return nil, errors.New("VULNSYNC_SECRET_KEY must be the base64 encoding of 32 random bytes (openssl rand -base64 32)")
		}
		return New(key)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	path := filepath.Join(dataDir, KeyFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate vault key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return Load(envKey, dataDir) // another process won the race
		}
		if err != nil {
			return nil, fmt.Errorf("create key file: %w", err)
		}
		if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write key file: %w", err)
		}
		return New(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("key file %s does not hold a base64 32-byte key", path)
	}
	return New(key)
}

// Seal encrypts plaintext; the result is printable and safe to store.
// associated binds the ciphertext to its row (e.g. the connection id), so a
// sealed value copied into another row does not open there.
func (v *Vault) Seal(plaintext, associated string) (string, error) {
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	ct := v.aead.Seal(nonce, nonce, []byte(plaintext), []byte(associated))
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a value made by Seal with the same associated data.
func (v *Vault) Open(sealed, associated string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", errors.New("open secret: unknown format")
	}
	raw, err := base64.RawStdEncoding.DecodeString(rest)
	if err != nil || len(raw) < v.aead.NonceSize() {
		return "", errors.New("open secret: corrupt value")
	}
	pt, err := v.aead.Open(nil, raw[:v.aead.NonceSize()], raw[v.aead.NonceSize():], []byte(associated))
	if err != nil {
		return "", errors.New("open secret: wrong key or tampered value")
	}
	return string(pt), nil
}
