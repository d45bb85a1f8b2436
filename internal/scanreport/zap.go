package scanreport

import (
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// zapReport is OWASP ZAP's traditional JSON report ("traditional-json"):
// sites, each with alerts (one per rule), each with instances (URLs).
type zapReport struct {
	ProgramName *string   `json:"@programName"`
	Site        []zapSite `json:"site"`
}

type zapSite struct {
	Name   string     `json:"@name"`
	Alerts []zapAlert `json:"alerts"`
}

// zapAlert holds ZAP's numbers as it writes them: strings.
type zapAlert struct {
	PluginID  any           `json:"pluginid"`
	AlertRef  any           `json:"alertRef"`
	Alert     string        `json:"alert"`
	Name      string        `json:"name"`
	RiskCode  any           `json:"riskcode"`
	Desc      string        `json:"desc"`
	Solution  string        `json:"solution"`
	Reference string        `json:"reference"`
	CWEID     any           `json:"cweid"`
	Instances []zapInstance `json:"instances"`
}

type zapInstance struct {
	URI    string `json:"uri"`
	Method string `json:"method"`
	Param  string `json:"param"`
}

// parseZAP reads ZAP's JSON report: one finding per alert instance, the
// alert's plugin (alertRef, which tells a plugin's variants apart) as rule.
func parseZAP(r io.Reader) (*Report, error) {
	var z zapReport
	if err := decodeWhole(ZAP, r, &z); err != nil {
		return nil, err
	}
	if z.ProgramName == nil && z.Site == nil {
		return nil, malformed(ZAP, "site", "missing: not a ZAP JSON report (no @programName, no site)")
	}
	rep := &Report{Scanner: "zap"}
	for i, site := range z.Site {
		for j, a := range site.Alerts {
			where := fmt.Sprintf("site[%d].alerts[%d]", i, j)
			rule := firstNonEmpty(str(a.AlertRef), str(a.PluginID))
			sev, ok := zapRisk[str(a.RiskCode)]
			if !ok {
				return nil, malformed(ZAP, where+".riskcode", "unknown risk code %q (ZAP uses 0 to 3)", str(a.RiskCode))
			}
			base := Finding{RuleID: rule, RuleTitle: firstNonEmpty(a.Alert, a.Name), RuleDescription: htmlText(a.Desc),
				Severity: sev, Remediation: htmlText(a.Solution), References: urlRE.FindAllString(a.Reference, -1)}
			if cwe := str(a.CWEID); cwe != "" && cwe != "-1" && cwe != "0" {
				base.CWE = cweOf(cwe)
			}
			if len(a.Instances) == 0 {
				f := base
				f.Location, f.Where = site.Name, where
				rep.Findings = append(rep.Findings, f)
			}
			for k, in := range a.Instances {
				f := base
				f.Where = fmt.Sprintf("%s.instances[%d]", where, k)
				f.Location = firstNonEmpty(in.URI, site.Name)
				f.Message = strings.TrimSpace(in.Method + " " + f.Location)
				if in.Param != "" {
					f.Message += " (parameter " + in.Param + ")"
				}
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	return rep, nil
}

var zapRisk = map[string]tracker.Severity{
	"0": tracker.SeverityInfo, "1": tracker.SeverityLow, "2": tracker.SeverityMedium, "3": tracker.SeverityHigh,
}

var (
	urlRE      = regexp.MustCompile(`https?://[^\s<>"']+`)
	tagRE      = regexp.MustCompile(`<[^>]*>`)
	paragraphs = strings.NewReplacer("</p><p>", "\n\n", "<br>", "\n", "<br/>", "\n", "<li>", "\n- ")
)

// htmlText turns ZAP's small HTML fragments into plain text.
func htmlText(s string) string {
	return strings.TrimSpace(html.UnescapeString(tagRE.ReplaceAllString(paragraphs.Replace(s), "")))
}
