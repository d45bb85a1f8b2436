package scanreport

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// nucleiResult is one line of `nuclei -jsonl` output.
type nucleiResult struct {
	TemplateID       string     `json:"template-id"`
	Info             nucleiInfo `json:"info"`
	Host             string     `json:"host"`
	MatchedAt        string     `json:"matched-at"`
	MatcherName      string     `json:"matcher-name"`
	ExtractedResults []string   `json:"extracted-results"`
}

type nucleiInfo struct {
	Name           string `json:"name"`
	Severity       string `json:"severity"`
	Description    string `json:"description"`
	Remediation    string `json:"remediation"`
	Reference      any    `json:"reference"` // a string or a list
	Classification *struct {
		CVEID       any     `json:"cve-id"`
		CWEID       any     `json:"cwe-id"`
		CVSSMetrics string  `json:"cvss-metrics"`
		CVSSScore   float64 `json:"cvss-score"`
	} `json:"classification"`
}

// maxLineBytes bounds one JSON line (Nuclei lines carry whole requests and
// responses when asked to).
const maxLineBytes = 16 << 20

// parseNuclei reads Nuclei's JSON lines: one finding per line, the
// template as rule. Blank lines are allowed.
func parseNuclei(r io.Reader) (*Report, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	rep := &Report{Scanner: "nuclei"}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		where := fmt.Sprintf("line %d", line)
		var n nucleiResult
		if err := json.Unmarshal(b, &n); err != nil {
			return nil, malformed(Nuclei, where, "%s", jsonErr(err))
		}
		if n.TemplateID == "" {
			return nil, malformed(Nuclei, where+", template-id", "missing: every Nuclei result names its template")
		}
		f := Finding{RuleID: n.TemplateID, RuleTitle: n.Info.Name, RuleDescription: n.Info.Description,
			Remediation: n.Info.Remediation, Location: firstNonEmpty(n.MatchedAt, n.Host), Where: where}
		switch s := strings.ToLower(n.Info.Severity); s {
		case "critical", "high", "medium", "low", "info":
			f.Severity = tracker.Severity(s)
		case "", "unknown":
		default:
			return nil, malformed(Nuclei, where+", info.severity", "unknown severity %q", n.Info.Severity)
		}
		f.References = strList(n.Info.Reference)
		if c := n.Info.Classification; c != nil {
			f.CVSSVector = c.CVSSMetrics
			if c.CVSSScore > 0 {
				f.CVSSScore, f.HasScore = c.CVSSScore, true
			}
			for _, cwe := range strList(c.CWEID) {
				if f.CWE = cweOf(cwe); f.CWE != "" {
					break
				}
			}
		}
		f.Message = f.Location
		if n.MatcherName != "" {
			f.Message += " (matcher " + n.MatcherName + ")"
		}
		if len(n.ExtractedResults) > 0 {
			f.Message += "\n\nExtracted: " + strings.Join(n.ExtractedResults, ", ")
		}
		rep.Findings = append(rep.Findings, f)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, malformed(Nuclei, fmt.Sprintf("line %d", line+1), "longer than %d bytes", maxLineBytes)
		}
		return nil, fmt.Errorf("read nuclei report: %w", err)
	}
	return rep, nil
}

// jsonErr says what is wrong with one JSON value, in the value's terms.
func jsonErr(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ):
		return fmt.Sprintf("%s: expected %s, found a JSON %s", typ.Field, typ.Type, typ.Value)
	case errors.As(err, &syn):
		return fmt.Sprintf("invalid JSON at column %d: %v", syn.Offset, syn)
	}
	return err.Error()
}

// strList reads a JSON string or list of strings.
func strList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
