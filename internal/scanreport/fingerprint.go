package scanreport

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"path"
	"sort"
	"strings"
)

// RuleFingerprint is the identity of the vulnerability a scanner's rule
// (or CVE) stands for in a target: the same rule of the same scanner is the
// same vulnerability at every import.
func RuleFingerprint(scanner, ruleID string) string {
	return hashParts("rule", strings.ToLower(scanner), ruleID)
}

// hashParts is a stable hash of the parts: the first 160 bits of SHA-256
// over the parts separated by NUL, as 40 hex digits. The kind (first part)
// keeps rule and finding fingerprints apart.
func hashParts(parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))[:40]
}

// normText collapses runs of white space, so re-wrapped messages match.
func normText(s string) string { return strings.Join(strings.Fields(s), " ") }

// normLocation makes equivalent spellings of one place equal: URLs get a
// lower-case scheme and host, no fragment, no default port and their query
// keys sorted without values (scanners vary the values they inject); paths
// lose "file://", "./", a "%SRCROOT%"-style base and backslashes.
func normLocation(loc string) string {
	loc = strings.TrimSpace(loc)
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		u, err := url.Parse(loc)
		if err != nil {
			return loc
		}
		host := strings.ToLower(u.Host)
		host = strings.TrimSuffix(strings.TrimSuffix(host, ":80"), ":443")
		keys := make([]string, 0, len(u.Query()))
		for k := range u.Query() {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		s := strings.ToLower(u.Scheme) + "://" + host + p
		if len(keys) > 0 {
			s += "?" + strings.Join(keys, "&")
		}
		return s
	}
	loc = strings.TrimPrefix(loc, "file://")
	loc = strings.ReplaceAll(loc, `\`, "/")
	if strings.HasPrefix(loc, "%") {
		if i := strings.Index(loc[1:], "%"); i >= 0 {
			loc = strings.TrimPrefix(loc[i+2:], "/")
		}
	}
	// path:line keeps its suffix through Clean.
	return strings.TrimPrefix(path.Clean("./"+loc), "./")
}
