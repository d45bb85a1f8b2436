package scanreport

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

func errorsAs(err error, target **tracker.Error) bool { return errors.As(err, target) }

// fuzzParse checks the parser's contract on any input: either a report
// whose findings are complete, or an unprocessable error naming a field;
// never a panic, never anything in between.
func fuzzParse(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", s))
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Parse(format, bytes.NewReader(data))
		if err != nil {
			var e *tracker.Error
			if !errors.As(err, &e) || e.Kind != tracker.EUnprocessable || len(e.Fields) == 0 {
				t.Fatalf("error %v is not an unprocessable error with fields", err)
			}
			return
		}
		for _, fd := range rep.Findings {
			if !fd.Severity.Valid() || fd.RuleID == "" || len(fd.Fingerprint) != 40 || len(fd.RuleFingerprint) != 40 {
				t.Fatalf("incomplete finding: %+v", fd)
			}
		}
	})
}

func FuzzParseSARIF(f *testing.F)  { fuzzParse(f, SARIF, "gosec.sarif", "staticcheck.sarif") }
func FuzzParseZAP(f *testing.F)    { fuzzParse(f, ZAP, "zap.json") }
func FuzzParseNuclei(f *testing.F) { fuzzParse(f, Nuclei, "nuclei.jsonl") }
func FuzzParseTrivy(f *testing.F)  { fuzzParse(f, Trivy, "trivy.json") }
func FuzzParseCSV(f *testing.F)    { fuzzParse(f, CSV, "findings.csv") }
