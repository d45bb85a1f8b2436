package vault

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	dir := t.TempDir()
	v, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: got %v, want 0600", st.Mode().Perm())
	}
	sealed, err := v.Seal("ATATT3xFfGF0-secret", "conn-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "ATATT3xFfGF0") {
		t.Fatalf("sealed value contains the plaintext: %s", sealed)
	}
	// The same key file opens it again (a restart).
	v2, err := Load("", dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := v2.Open(sealed, "conn-1")
	if err != nil || got != "ATATT3xFfGF0-secret" {
		t.Fatalf("open: got %q, %v", got, err)
	}
	if _, err := v2.Open(sealed, "conn-2"); err == nil {
		t.Fatal("a value sealed for conn-1 opened for conn-2")
	}
	tampered := sealed[:len(sealed)-2] + "AA"
	if _, err := v2.Open(tampered, "conn-1"); err == nil {
		t.Fatal("a tampered value opened")
	}
	other, _ := Load(base64.StdEncoding.EncodeToString(make([]byte, 32)), "")
	if _, err := other.Open(sealed, "conn-1"); err == nil {
		t.Fatal("another key opened the value")
	}
}

func TestLoadRefusesBadKeys(t *testing.T) {
	if _, err := Load("not base64!", ""); err == nil {
		t.Error("a malformed VULNSYNC_SECRET_KEY was accepted")
	}
	if _, err := Load(base64.StdEncoding.EncodeToString([]byte("short")), ""); err == nil {
		t.Error("a short VULNSYNC_SECRET_KEY was accepted")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte(base64.StdEncoding.EncodeToString(make([]byte, 32))), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("", dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("world-readable key file: got %v, want a refusal", err)
	}
}
