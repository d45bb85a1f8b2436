package scanreport

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// CSVColumns are the columns of vulnsync's CSV format (README, "Importing
// scanner reports"), in the order the README documents them. The first
// row names the columns used, in any order; only title is required.
var CSVColumns = []string{"title", "rule_id", "severity", "location", "message", "description", "remediation",
	"cvss_vector", "cvss_score", "cwe", "references", "fingerprint"}

// parseCSV reads vulnsync's CSV: a header row, then one finding per row.
// Rows with the same rule_id (or, without one, the same title) are one
// vulnerability.
func parseCSV(r io.Reader) (*Report, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 0 // every row as long as the header
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, malformed(CSV, "row 1", "the file is empty: the first row names the columns")
	}
	if err != nil {
		return nil, malformed(CSV, "row 1", "%s", csvErr(err))
	}
	col := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		known := false
		for _, c := range CSVColumns {
			known = known || c == name
		}
		if !known {
			return nil, malformed(CSV, "row 1", "unknown column %q (known: %s)", h, strings.Join(CSVColumns, ", "))
		}
		if _, dup := col[name]; dup {
			return nil, malformed(CSV, "row 1", "column %q appears twice", name)
		}
		col[name] = i
	}
	if _, ok := col["title"]; !ok {
		return nil, malformed(CSV, "row 1", "the title column is required")
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	rep := &Report{Scanner: "csv"}
	for row := 2; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, malformed(CSV, fmt.Sprintf("row %d", row), "%s", csvErr(err))
		}
		where := fmt.Sprintf("row %d", row)
		f := Finding{Where: where, RuleTitle: get(rec, "title"), RuleID: get(rec, "rule_id"),
			Location: get(rec, "location"), Message: get(rec, "message"), RuleDescription: get(rec, "description"),
			Remediation: get(rec, "remediation"), CVSSVector: get(rec, "cvss_vector"), Fingerprint: get(rec, "fingerprint"),
			References: strings.Fields(get(rec, "references"))}
		if f.RuleTitle == "" {
			return nil, malformed(CSV, where+", title", "must not be empty")
		}
		if f.RuleID == "" {
			f.RuleID = f.RuleTitle
		}
		if f.Fingerprint != "" {
			f.Fingerprint = hashParts("csv-fingerprint", f.Fingerprint)
		}
		if s := strings.ToLower(get(rec, "severity")); s != "" {
			if !tracker.Severity(s).Valid() {
				return nil, malformed(CSV, where+", severity", "unknown severity %q (allowed: critical, high, medium, low, info)", s)
			}
			f.Severity = tracker.Severity(s)
		}
		if s := get(rec, "cvss_score"); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v < 0 || v > 10 {
				return nil, malformed(CSV, where+", cvss_score", "%q is not a number from 0 to 10", s)
			}
			f.CVSSScore, f.HasScore = v, true
		}
		if s := get(rec, "cwe"); s != "" {
			if f.CWE = cweOf(s); f.CWE == "" {
				return nil, malformed(CSV, where+", cwe", "%q is not a CWE id (CWE-79 or 79)", s)
			}
		}
		rep.Findings = append(rep.Findings, f)
	}
	return rep, nil
}

func csvErr(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d, column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}
