package scanreport

import (
	"fmt"
	"io"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// trivyReport is Trivy's JSON report (SchemaVersion 2): results per target
// (an image's OS packages, a lock file, a Dockerfile), each with
// vulnerabilities and misconfigurations.
type trivyReport struct {
	SchemaVersion int           `json:"SchemaVersion"`
	ArtifactName  string        `json:"ArtifactName"`
	Results       []trivyResult `json:"Results"`
}

type trivyResult struct {
	Target            string         `json:"Target"`
	Vulnerabilities   []trivyVuln    `json:"Vulnerabilities"`
	Misconfigurations []trivyMisconf `json:"Misconfigurations"`
}

type trivyVuln struct {
	VulnerabilityID  string               `json:"VulnerabilityID"`
	PkgName          string               `json:"PkgName"`
	PkgPath          string               `json:"PkgPath"`
	InstalledVersion string               `json:"InstalledVersion"`
	FixedVersion     string               `json:"FixedVersion"`
	SeveritySource   string               `json:"SeveritySource"`
	PrimaryURL       string               `json:"PrimaryURL"`
	Title            string               `json:"Title"`
	Description      string               `json:"Description"`
	Severity         string               `json:"Severity"`
	CweIDs           []string             `json:"CweIDs"`
	CVSS             map[string]trivyCVSS `json:"CVSS"`
	References       []string             `json:"References"`
}

type trivyCVSS struct {
	V3Vector  string  `json:"V3Vector"`
	V3Score   float64 `json:"V3Score"`
	V40Vector string  `json:"V40Vector"`
	V40Score  float64 `json:"V40Score"`
}

type trivyMisconf struct {
	ID            string   `json:"ID"`
	AVDID         string   `json:"AVDID"`
	Title         string   `json:"Title"`
	Description   string   `json:"Description"`
	Message       string   `json:"Message"`
	Resolution    string   `json:"Resolution"`
	Severity      string   `json:"Severity"`
	PrimaryURL    string   `json:"PrimaryURL"`
	References    []string `json:"References"`
	Status        string   `json:"Status"`
	CauseMetadata struct {
		Resource  string `json:"Resource"`
		StartLine int    `json:"StartLine"`
	} `json:"CauseMetadata"`
}

// parseTrivy reads Trivy's JSON report: one finding per vulnerable
// package (the CVE as rule) and per failed misconfiguration check.
func parseTrivy(r io.Reader) (*Report, error) {
	var t trivyReport
	if err := decodeWhole(Trivy, r, &t); err != nil {
		return nil, err
	}
	if t.SchemaVersion != 2 {
		return nil, malformed(Trivy, "SchemaVersion", "%d is not supported: vulnsync reads Trivy's schema version 2", t.SchemaVersion)
	}
	rep := &Report{Scanner: "trivy"}
	for i, res := range t.Results {
		for j, v := range res.Vulnerabilities {
			where := fmt.Sprintf("Results[%d].Vulnerabilities[%d]", i, j)
			sev, err := trivySeverity(v.Severity, where)
			if err != nil {
				return nil, err
			}
			f := Finding{RuleID: v.VulnerabilityID, RuleTitle: firstNonEmpty(v.Title, v.VulnerabilityID),
				RuleDescription: v.Description, Severity: sev, Where: where,
				References: append([]string{v.PrimaryURL}, v.References...)}
			f.Location = fmt.Sprintf("%s@%s (%s)", v.PkgName, v.InstalledVersion, firstNonEmpty(v.PkgPath, res.Target))
			f.Message = fmt.Sprintf("%s %s is installed in %s", v.PkgName, v.InstalledVersion, res.Target)
			if v.FixedVersion != "" {
				f.Remediation = fmt.Sprintf("Upgrade %s to %s.", v.PkgName, v.FixedVersion)
			}
			for _, c := range v.CweIDs {
				if f.CWE = cweOf(c); f.CWE != "" {
					break
				}
			}
			// The score of the source Trivy took the severity from, else NVD's.
			for _, src := range []string{v.SeveritySource, "nvd"} {
				c, ok := v.CVSS[src]
				if !ok {
					continue
				}
				switch {
				case c.V40Vector != "":
					f.CVSSVector = c.V40Vector
				case c.V3Vector != "":
					f.CVSSVector = c.V3Vector
					if c.V3Score > 0 {
						f.CVSSScore, f.HasScore = c.V3Score, true
					}
				}
				if f.CVSSVector != "" {
					break
				}
			}
			rep.Findings = append(rep.Findings, f)
		}
		for j, m := range res.Misconfigurations {
			if m.Status != "" && m.Status != "FAIL" {
				continue
			}
			where := fmt.Sprintf("Results[%d].Misconfigurations[%d]", i, j)
			sev, err := trivySeverity(m.Severity, where)
			if err != nil {
				return nil, err
			}
			f := Finding{RuleID: firstNonEmpty(m.ID, m.AVDID), RuleTitle: m.Title, RuleDescription: m.Description,
				Severity: sev, Remediation: m.Resolution, Message: m.Message, Where: where,
				References: append([]string{m.PrimaryURL}, m.References...)}
			f.Location = res.Target
			if m.CauseMetadata.StartLine > 0 {
				f.Location += fmt.Sprintf(":%d", m.CauseMetadata.StartLine)
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	return rep, nil
}

func trivySeverity(s, where string) (tracker.Severity, error) {
	switch l := strings.ToLower(s); l {
	case "critical", "high", "medium", "low":
		return tracker.Severity(l), nil
	case "", "unknown":
		return "", nil
	}
	return "", malformed(Trivy, where+".Severity", "unknown severity %q", s)
}
