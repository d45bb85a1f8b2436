// Package scanreport reads scanner reports — SARIF 2.1.0, OWASP ZAP's JSON
// report, Nuclei JSON lines, Trivy's JSON and vulnsync's documented CSV —
// into one neutral shape: a list of findings, each naming the rule (or CVE)
// it belongs to, where it was found, how severe it is and a fingerprint.
//
// It owns everything that depends on a report's format, so the import use
// case (internal/service) deals with one shape only. It also owns the
// identity of a finding: the fingerprint that lets a re-import recognise
// what it imported before (docs/decisions.md, "Import fingerprints").
//
// Parsing is all or nothing: a malformed or truncated report is an error of
// kind tracker.EUnprocessable naming where (line, JSON path or CSV row), and
// no partial report is returned. Reports are decoded as streams, so memory
// grows with the findings kept, not with the size of the document.
package scanreport

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vulnsync/vulnsync/internal/cvss"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Format names a report format, as the import API's "format" field does.
type Format string

// The formats vulnsync reads.
const (
	SARIF  Format = "sarif"
	ZAP    Format = "zap"
	Nuclei Format = "nuclei"
	Trivy  Format = "trivy"
	CSV    Format = "csv"
)

// Formats lists every supported format, in the order error messages name them.
var Formats = []Format{SARIF, ZAP, Nuclei, Trivy, CSV}

// Report is a parsed scanner report.
type Report struct {
	// Scanner is the tool that wrote the report, lower-case ("gosec",
	// "zap", "nuclei", "trivy"; "csv" when a CSV names none).
	Scanner string
	// Findings are the results, in report order.
	Findings []Finding
}

// Finding is one result of a report: one place where one rule fired.
type Finding struct {
	// RuleID groups findings into one vulnerability: a rule id, a CVE, a
	// template id. RuleFingerprint is that vulnerability's identity.
	RuleID          string
	RuleFingerprint string
	// RuleTitle and RuleDescription describe the rule (Markdown or text).
	RuleTitle       string
	RuleDescription string
	// Severity is the report's own rating; when the report gives none it
	// comes from the CVSS score, else it is medium.
	Severity tracker.Severity
	// CVSSVector, when set, is valid; CVSSScore is then its base score
	// unless the report gave its own. HasScore says whether a score is known.
	CVSSVector  string
	CVSSScore   float64
	HasScore    bool
	CWE         string
	References  []string
	Remediation string
	// Location is where it was found: "path:line", a URL, or
	// "package@version (target)".
	Location string
	// Message is what the scanner said about this occurrence.
	Message string
	// Fingerprint is this finding's identity: the report's own
	// fingerprints where it has them, else a hash of the rule, the
	// normalised location and the message.
	Fingerprint string
	// Where is the finding's place in the report ("line 12", "row 3",
	// "runs[0].results[4]"), for error messages about its values.
	Where string
}

// Parse reads a report of the given format from r. An unknown format, and
// any report that cannot be read in full, is a *tracker.Error of kind
// EUnprocessable whose Fields say what and where.
func Parse(format Format, r io.Reader) (*Report, error) {
	var rep *Report
	var err error
	switch format {
	case SARIF:
		rep, err = parseSARIF(r)
	case ZAP:
		rep, err = parseZAP(r)
	case Nuclei:
		rep, err = parseNuclei(r)
	case Trivy:
		rep, err = parseTrivy(r)
	case CSV:
		rep, err = parseCSV(r)
	default:
		return nil, UnknownFormat(string(format))
	}
	if err != nil {
		return nil, err
	}
	if err := rep.finish(); err != nil {
		return nil, err
	}
	return rep, nil
}

// UnknownFormat is the error for a format name vulnsync does not read; it
// lists the formats it does.
func UnknownFormat(name string) error {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return &tracker.Error{Kind: tracker.EUnprocessable, Message: "unknown report format",
		Fields: map[string]string{"format": fmt.Sprintf("unknown format %q (known: %s)", name, strings.Join(names, ", "))}}
}

// malformed is the error of a report that cannot be read, at where.
func malformed(format Format, where, format2 string, args ...any) error {
	msg := fmt.Sprintf(format2, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	return &tracker.Error{Kind: tracker.EUnprocessable, Message: fmt.Sprintf("malformed %s report", format),
		Fields: map[string]string{"file": msg}}
}

// finish checks and completes every finding: the CVSS vector is scored (an
// invalid one is an error naming the finding), the severity derived when
// the report gave none, the texts bounded and the fingerprints computed.
func (r *Report) finish() error {
	r.Scanner = strings.ToLower(strings.TrimSpace(r.Scanner))
	for i := range r.Findings {
		f := &r.Findings[i]
		f.CVSSVector = strings.TrimSpace(f.CVSSVector)
		if f.CVSSVector != "" {
			score, err := cvss.Score(f.CVSSVector)
			if err != nil {
				return &tracker.Error{Kind: tracker.EUnprocessable, Message: "invalid CVSS vector in the report",
					Fields: map[string]string{"cvss_vector": f.Where + ": " + err.Error()}}
			}
			if !f.HasScore {
				f.CVSSScore, f.HasScore = score, true
			}
		}
		if f.HasScore && (f.CVSSScore < 0 || f.CVSSScore > 10) {
			return &tracker.Error{Kind: tracker.EUnprocessable, Message: "invalid CVSS score in the report",
				Fields: map[string]string{"cvss_score": fmt.Sprintf("%s: %v is not between 0 and 10", f.Where, f.CVSSScore)}}
		}
		if f.Severity == "" {
			if f.HasScore {
				f.Severity = cvss.Severity(f.CVSSScore)
			} else {
				f.Severity = tracker.SeverityMedium
			}
		}
		f.RuleID = oneLine(f.RuleID, 200)
		if f.RuleID == "" {
			return &tracker.Error{Kind: tracker.EUnprocessable, Message: "a finding names no rule",
				Fields: map[string]string{"file": f.Where + ": the finding names no rule, CVE or title"}}
		}
		f.RuleTitle = oneLine(f.RuleTitle, 200)
		if f.RuleTitle == "" {
			f.RuleTitle = f.RuleID
		}
		f.Message = strings.TrimSpace(f.Message)
		f.References = httpURLs(f.References)
		if f.RuleFingerprint == "" {
			f.RuleFingerprint = RuleFingerprint(r.Scanner, f.RuleID)
		}
		if f.Fingerprint == "" {
			f.Fingerprint = hashParts("loc", r.Scanner, f.RuleID, normLocation(f.Location), normText(f.Message))
		}
	}
	return nil
}

// oneLine collapses whitespace and bounds s to n bytes on a rune boundary.
// A string that is already so is returned as is: findings of one rule
// share their rule's strings, and a large report keeps them shared.
func oneLine(s string, n int) string {
	if len(s) <= n && isOneLine(s) {
		return s
	}
	return truncate(strings.Join(strings.Fields(s), " "), n)
}

func isOneLine(s string) bool {
	prevSpace := true // no leading space
	for i := 0; i < len(s); i++ {
		c := s[i]
		space := c == ' '
		if c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c >= 0x80 || (space && prevSpace) {
			return false // (non-ASCII may hold Unicode spaces: take the slow path)
		}
		prevSpace = space
	}
	return !prevSpace || s == ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !runeStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }

// httpURLs keeps the absolute http(s) URLs of refs, each once, in order;
// a list that is already so is returned as is (shared by a rule's findings).
func httpURLs(refs []string) []string {
	if cleanURLs(refs) {
		if len(refs) == 0 {
			return nil
		}
		return refs
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		r = strings.TrimSpace(r)
		if (strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://")) && !strings.ContainsAny(r, " \t\n<>\"") && len(r) > len("https://") && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
		if len(out) == 20 {
			break
		}
	}
	return out
}

func cleanURLs(refs []string) bool {
	if len(refs) > 20 {
		return false
	}
	for i, r := range refs {
		if !(strings.HasPrefix(r, "http://") || strings.HasPrefix(r, "https://")) || strings.ContainsAny(r, " \t\n<>\"") || len(r) <= len("https://") {
			return false
		}
		for _, p := range refs[:i] {
			if p == r {
				return false
			}
		}
	}
	return true
}

// sortedPairs renders a map as "k=v" lines in key order, for hashing.
func sortedPairs(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + m[k]
	}
	return out
}
