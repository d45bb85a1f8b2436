package cli

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// byteSize is a flag.Value for sizes: a number of bytes with an optional
// unit, decimal (KB, MB, GB) or binary (KiB, MiB, GiB), so that
// --max-attachment-bytes 25MiB says what it means.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	factor int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"b", 1},
}

// parseByteSize reads "26214400", "25MiB", "10 MB" or "512KiB".
func parseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	factor := int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(t, u.suffix); ok {
			t, factor = strings.TrimSpace(n), u.factor
			break
		}
	}
	n, err := strconv.ParseFloat(t, 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) || strings.ContainsAny(t, "eE") {
		return 0, fmt.Errorf("%q is not a size: want a number of bytes with an optional unit (B, KB, MB, GB, KiB, MiB, GiB), like 25MiB", s)
	}
	v := n * float64(factor)
	if v > math.MaxInt64/2 || v != math.Trunc(v) {
		return 0, fmt.Errorf("%q is not a whole number of bytes below 4 EiB", s)
	}
	return int64(v), nil
}

// String shows the size in the largest binary unit that divides it.
func (b *byteSize) String() string {
	if b == nil {
		return "0"
	}
	n := int64(*b)
	for _, u := range []struct {
		name   string
		factor int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n > 0 && n%u.factor == 0 {
			return strconv.FormatInt(n/u.factor, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// Set parses a size given on the command line.
func (b *byteSize) Set(s string) error {
	n, err := parseByteSize(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// envDuration reads a duration from the environment, def when unset.
func envDuration(getenv func(string) string, key string, def time.Duration) (time.Duration, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not a duration (like 30s or 5m)", ErrUsage, key, v)
	}
	return d, nil
}

// envByteSize reads a size from the environment, def when unset.
func envByteSize(getenv func(string) string, key string, def int64) (byteSize, error) {
	v := getenv(key)
	if v == "" {
		return byteSize(def), nil
	}
	n, err := parseByteSize(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrUsage, key, err)
	}
	return byteSize(n), nil
}

// checkPublicURL accepts the base of the webhook URL Jira calls: an
// absolute http or https URL with a host, and no query, fragment or
// credentials (vulnsync appends paths to it). It returns it without a
// trailing slash.
func checkPublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: --public-url %q: %v", ErrUsage, s, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%w: --public-url %q must start with http:// or https://", ErrUsage, s)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%w: --public-url %q has no host", ErrUsage, s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(s, "?#"):
		return "", fmt.Errorf("%w: --public-url %q must have no query or fragment: it is the base vulnsync appends /webhooks/jira/… to", ErrUsage, s)
	case u.User != nil:
		return "", fmt.Errorf("%w: --public-url %q must not carry credentials", ErrUsage, s)
	}
	return strings.TrimRight(s, "/"), nil
}

// envDays reads a whole number of days from the environment, def when
// unset.
func envDays(getenv func(string) string, key string, def int) (int, error) {
	v := getenv(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q is not a whole number of days (like 365)", ErrUsage, key, v)
	}
	return n, nil
}
