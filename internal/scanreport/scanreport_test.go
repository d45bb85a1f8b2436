package scanreport

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// reportFiles are the test reports, with their format. Which are real
// tool output and which were written to a format's schema is in
// testdata/README.md.
var reportFiles = []struct {
	file   string
	format Format
}{
	{"gosec.sarif", SARIF},
	{"staticcheck.sarif", SARIF},
	{"eslint.sarif", SARIF},
	{"zap.json", ZAP},
	{"nuclei.jsonl", Nuclei},
	{"trivy.json", Trivy},
	{"findings.csv", CSV},
}

func parseFile(t *testing.T, file string, format Format) *Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer f.Close()
	rep, err := Parse(format, f)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", format, file, err)
	}
	return rep
}

// TestParseGolden parses every test report and compares the neutral
// findings with the golden file; -update rewrites them after a deliberate
// change.
func TestParseGolden(t *testing.T) {
	for _, rf := range reportFiles {
		t.Run(rf.file, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("testdata", rf.file)); err != nil {
				t.Skipf("no %s: %v", rf.file, err)
			}
			rep := parseFile(t, rf.file, rf.format)
			if len(rep.Findings) == 0 {
				t.Fatalf("no findings in %s", rf.file)
			}
			got, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", rf.file+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(bytes.TrimSpace(got), bytes.TrimSpace(want)) {
				t.Errorf("findings of %s differ from %s (run with -update after a deliberate change):\n%s", rf.file, golden, got)
			}
			for _, f := range rep.Findings {
				if !f.Severity.Valid() || f.RuleID == "" || len(f.Fingerprint) != 40 || len(f.RuleFingerprint) != 40 {
					t.Errorf("incomplete finding at %s: %+v", f.Where, f)
				}
			}
		})
	}
}

func TestSARIFFromRealTools(t *testing.T) {
	for _, c := range []struct{ file, scanner string }{{"gosec.sarif", "gosec"}, {"staticcheck.sarif", "staticcheck"}} {
		rep := parseFile(t, c.file, SARIF)
		if rep.Scanner != c.scanner {
			t.Errorf("%s: scanner %q, want %q", c.file, rep.Scanner, c.scanner)
		}
		seen := map[string]bool{}
		for _, f := range rep.Findings {
			if seen[f.Fingerprint] {
				t.Errorf("%s: fingerprint %s given to two findings", c.file, f.Fingerprint)
			}
			seen[f.Fingerprint] = true
			if !strings.Contains(f.Location, "main.go:") {
				t.Errorf("%s: finding at %s has location %q, want main.go:<line>", c.file, f.Where, f.Location)
			}
		}
	}
}

func TestSeverities(t *testing.T) {
	zap := parseFile(t, "zap.json", ZAP)
	if got := sevByRule(zap); got["40012"] != "high" || got["10038-1"] != "medium" || got["10021"] != "low" {
		t.Errorf("ZAP severities = %v", got)
	}
	nuc := parseFile(t, "nuclei.jsonl", Nuclei)
	// git-config says "unknown": the severity comes from its CVSS score 5.3.
	if got := sevByRule(nuc); got["CVE-2021-44228"] != "critical" || got["git-config"] != "medium" || got["http-missing-security-headers"] != "info" {
		t.Errorf("Nuclei severities = %v", got)
	}
	tri := parseFile(t, "trivy.json", Trivy)
	// The unrated advisory is scored from its CVSS 4.0 vector (9.3).
	if got := sevByRule(tri); got["CVE-2023-0464"] != "high" || got["GHSA-xxxx-unrated"] != "critical" || got["DS002"] != "high" {
		t.Errorf("Trivy severities = %v", got)
	}
	if _, ok := sevByRule(tri)["DS026"]; ok {
		t.Errorf("a passed Trivy check became a finding")
	}
	csv := parseFile(t, "findings.csv", CSV)
	// The cookie row has no severity: 3.1 from its vector → low.
	if got := sevByRule(csv); got["PT-2024-001"] != "critical" || got["Session cookie without Secure flag"] != "low" {
		t.Errorf("CSV severities = %v", got)
	}
}

func sevByRule(r *Report) map[string]tracker.Severity {
	out := map[string]tracker.Severity{}
	for _, f := range r.Findings {
		out[f.RuleID] = f.Severity
	}
	return out
}

// TestFingerprintsAreStable checks that equivalent spellings of one place
// give one fingerprint and that distinct places do not.
func TestFingerprintsAreStable(t *testing.T) {
	a := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"T"}},"results":[{"ruleId":"R1","message":{"text":"bad  thing"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"./src\\a.go"},"region":{"startLine":3}}}]}]}]}`
	b := `{"version":"2.1.0","runs":[{"results":[{"ruleId":"R1","message":{"text":"bad thing"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/a.go"},"region":{"startLine":3}}}]}],"tool":{"driver":{"name":"t"}}}]}`
	c := strings.Replace(b, `"startLine":3`, `"startLine":4`, 1)
	fa, fb, fc := oneFinding(t, a), oneFinding(t, b), oneFinding(t, c)
	if fa.Fingerprint != fb.Fingerprint {
		t.Errorf("equivalent results got fingerprints %s and %s", fa.Fingerprint, fb.Fingerprint)
	}
	if fa.Fingerprint == fc.Fingerprint {
		t.Errorf("results on different lines share fingerprint %s", fa.Fingerprint)
	}
	// With partial fingerprints the line may move.
	pa := strings.Replace(b, `"ruleId":"R1",`, `"ruleId":"R1","partialFingerprints":{"primaryLocationLineHash":"abc:1"},`, 1)
	pc := strings.Replace(c, `"ruleId":"R1",`, `"ruleId":"R1","partialFingerprints":{"primaryLocationLineHash":"abc:1"},`, 1)
	if oneFinding(t, pa).Fingerprint != oneFinding(t, pc).Fingerprint {
		t.Errorf("a moved result with the same partial fingerprint got a new fingerprint")
	}
	if fa.RuleFingerprint != RuleFingerprint("t", "R1") {
		t.Errorf("rule fingerprint %s, want RuleFingerprint(t, R1)", fa.RuleFingerprint)
	}
}

func oneFinding(t *testing.T, doc string) Finding {
	t.Helper()
	rep, err := Parse(SARIF, strings.NewReader(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(rep.Findings) != 1 {
		t.Fatalf("%d findings, want 1", len(rep.Findings))
	}
	return rep.Findings[0]
}

// TestMalformedReports checks that bad input is refused with a message
// naming where.
func TestMalformedReports(t *testing.T) {
	zap, err := os.ReadFile("testdata/zap.json")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		format Format
		doc    string
		field  string
		want   string
	}{
		{"truncated sarif", SARIF, "{\"version\":\"2.1.0\",\n\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\"}},\n\"results\":[{\"ruleId\":", "file", "line 3, runs[0].results[0]: unexpected end"},
		{"sarif type error", SARIF, `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":7}]}]}`, "file", "runs[0].results[0].ruleId"},
		{"sarif wrong version", SARIF, `{"version":"2.0.0","runs":[]}`, "file", "not supported"},
		{"sarif no tool", SARIF, `{"version":"2.1.0","runs":[{"results":[]}]}`, "file", "runs[0].tool.driver.name"},
		{"sarif invalid vector", SARIF, `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"R","properties":{"cvss_vector":"CVSS:3.1/AV:Q"}}]}},"results":[{"ruleId":"R","message":{"text":"m"}}]}]}`, "cvss_vector", "runs[0].results[0]: invalid CVSS 3.1 vector"},
		{"empty", SARIF, "", "file", "unexpected end"},
		{"truncated zap", ZAP, string(zap[:len(zap)/2]), "file", "unexpected end"},
		{"zap risk", ZAP, `{"@programName":"ZAP","site":[{"alerts":[{"pluginid":"1","riskcode":"9"}]}]}`, "file", "site[0].alerts[0].riskcode"},
		{"nuclei bad line", Nuclei, "{\"template-id\":\"a\",\"info\":{}}\n{\"template-id\":", "file", "line 2"},
		{"nuclei no template", Nuclei, `{"info":{"name":"x"}}`, "file", "line 1, template-id"},
		{"trivy schema", Trivy, `{"SchemaVersion":1}`, "file", "SchemaVersion"},
		{"trivy type", Trivy, "{\"SchemaVersion\":2,\n\"Results\":[{\"Vulnerabilities\":[{\"Severity\":3}]}]}", "file", "line 2, Results.Vulnerabilities.Severity"},
		{"csv unknown column", CSV, "title,colour\nx,red\n", "file", `row 1: unknown column "colour"`},
		{"csv short row", CSV, "title,severity\nx,high\ny\n", "file", "row 3"},
		{"csv bad severity", CSV, "title,severity\nx,urgent\n", "file", "row 2, severity"},
		{"csv bad vector", CSV, "title,cvss_vector\nx,CVSS:3.1/AV:N\n", "cvss_vector", "row 2"},
		{"csv bad quote", CSV, "title\n\"x\n", "file", "row 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Parse(c.format, strings.NewReader(c.doc))
			if err == nil {
				t.Fatalf("accepted: %d findings", len(rep.Findings))
			}
			var e *tracker.Error
			if !errorsAs(err, &e) || e.Kind != tracker.EUnprocessable {
				t.Fatalf("error %v is not an unprocessable tracker error", err)
			}
			if !strings.Contains(e.Fields[c.field], c.want) {
				t.Errorf("fields[%s] = %q, want it to contain %q (error: %v)", c.field, e.Fields[c.field], c.want, err)
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	_, err := Parse("burp", strings.NewReader("{}"))
	var e *tracker.Error
	if !errorsAs(err, &e) || e.Kind != tracker.EUnprocessable || !strings.Contains(e.Fields["format"], "sarif, zap, nuclei, trivy, csv") {
		t.Errorf("unknown format answered %v", err)
	}
}
