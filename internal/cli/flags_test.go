package cli

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestVersionCommandAndFlag(t *testing.T) {
	for _, arg := range []string{"version", "--version", "-version"} {
		var out, errOut bytes.Buffer
		if err := Run(context.Background(), []string{arg}, func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if got := out.String(); !strings.HasPrefix(got, "vulnsync "+Version+"\n") || !strings.Contains(got, "commit ") || !strings.Contains(got, runtime.Version()) {
			t.Errorf("%s printed %q", arg, got)
		}
	}
}

func TestParseByteSize(t *testing.T) {
	good := map[string]int64{"26214400": 26214400, "25MiB": 25 << 20, "25mib": 25 << 20, "10 MB": 10_000_000, "512KiB": 512 << 10,
		"1GiB": 1 << 30, "2kb": 2000, "100B": 100, "1.5KiB": 1536}
	for in, want := range good {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "25 megs", "MiB", "-1", "1e9", "0.5B", "25MiBs", "9999999999GiB"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
	var b byteSize = 25 << 20
	if b.String() != "25MiB" {
		t.Errorf("25 MiB shown as %q", b.String())
	}
}

func TestServeFlagsAreTyped(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	c, err := parseServe("serve", []string{"--max-attachment-bytes", "25MiB", "--reconcile-interval", "90s", "--public-url", "https://vulnsync.example.com/base/"}, env(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.maxAttachment != 25<<20 || c.reconcileInterval != 90*time.Second || c.publicURL != "https://vulnsync.example.com/base" {
		t.Errorf("parsed %d, %s, %q", c.maxAttachment, c.reconcileInterval, c.publicURL)
	}
	c, err = parseServe("serve", nil, env("VULNSYNC_MAX_ATTACHMENT_BYTES", "10MB", "VULNSYNC_RECONCILE_INTERVAL", "2m"), &bytes.Buffer{})
	if err != nil || c.maxAttachment != 10_000_000 || c.reconcileInterval != 2*time.Minute {
		t.Errorf("from the environment: %d, %s, %v", c.maxAttachment, c.reconcileInterval, err)
	}

	refused := []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"--max-attachment-bytes", "25 megs"}, env(), "like 25MiB"},
		{[]string{"--max-attachment-bytes", "0"}, env(), "at least one byte"},
		{nil, env("VULNSYNC_MAX_ATTACHMENT_BYTES", "lots"), "VULNSYNC_MAX_ATTACHMENT_BYTES"},
		{[]string{"--reconcile-interval", "5"}, env(), "reconcile-interval"},
		{[]string{"--reconcile-interval", "10ms"}, env(), "at least 1s"},
		{nil, env("VULNSYNC_RECONCILE_INTERVAL", "often"), "VULNSYNC_RECONCILE_INTERVAL"},
		{[]string{"--public-url", "vulnsync.example.com"}, env(), "http:// or https://"},
		{[]string{"--public-url", "ftp://vulnsync.example.com"}, env(), "http:// or https://"},
		{[]string{"--public-url", "https://"}, env(), "no host"},
		{[]string{"--public-url", "https://vulnsync.example.com/?x=1"}, env(), "no query or fragment"},
		{[]string{"--public-url", "https://vulnsync.example.com/#top"}, env(), "no query or fragment"},
		{[]string{"--public-url", "https://user:pw@vulnsync.example.com"}, env(), "credentials"},
		{nil, env("VULNSYNC_PUBLIC_URL", "/relative"), "http:// or https://"},
	}
	for _, r := range refused {
		_, err := parseServe("serve", r.args, r.env, &bytes.Buffer{})
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%q: got %v, want a usage error saying %q", r.args, err, r.want)
		}
	}
}

// A port in use fails the start before the data directory is created or
// any migration runs.
func TestServeListensBeforeTouchingTheDataDirectory(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := filepath.Join(t.TempDir(), "data")
	var out, errOut bytes.Buffer
	err = Run(context.Background(), []string{"serve", "--addr", ln.Addr().String(), "--data", data}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Fatalf("serve on a port in use: %v", err)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data directory was touched before listening: %v", err)
	}
}
