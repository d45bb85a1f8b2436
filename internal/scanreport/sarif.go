package scanreport

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// sarifRule is what a finding needs from a rule descriptor.
type sarifRule struct {
	id, name, short, full, help, helpURI, level, cwe string
	props                                            *sarif.PropertyBag
	// Computed once per rule and shared by its findings: a report of
	// 50,000 results over a few hundred rules keeps one copy of each.
	title, fingerprint string
	refs               []string
}

// sarifHit is a result reduced to what a finding needs, so the full
// go-sarif value (code flows, fixes, snippets) is dropped at once.
type sarifHit struct {
	ruleID       string
	ruleIndex    int
	level        string
	message      string
	location     string
	fingerprints []string // "fp:" or "partial:" pairs, sorted
	props        *sarif.PropertyBag
	where        string
}

// parseSARIF reads a SARIF 2.1.0 log. It walks runs[].results[] as a
// stream, decoding one result at a time into go-sarif's types, so a report
// of tens of thousands of results never sits in memory as one document.
// The rules of a run are looked up once the run's object is complete, since
// SARIF allows "tool" to come after "results".
func parseSARIF(r io.Reader) (*Report, error) {
	s := newJSONStream(SARIF, r)
	rep := &Report{}
	if err := s.open("", '{'); err != nil {
		return nil, err
	}
	version, sawRuns := "", false
	for {
		more, err := s.more("")
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		k, err := s.key("")
		if err != nil {
			return nil, err
		}
		switch k {
		case "version":
			if err := s.decode("version", &version); err != nil {
				return nil, err
			}
			if version != "2.1.0" {
				return nil, malformed(SARIF, "version", "SARIF version %q is not supported (only 2.1.0)", version)
			}
		case "runs":
			sawRuns = true
			if err := s.open("runs", '['); err != nil {
				return nil, err
			}
			for i := 0; ; i++ {
				p := fmt.Sprintf("runs[%d]", i)
				more, err := s.more("runs")
				if err != nil {
					return nil, err
				}
				if !more {
					break
				}
				if err := parseSARIFRun(s, p, rep); err != nil {
					return nil, err
				}
			}
		default:
			if err := s.skip(k); err != nil {
				return nil, err
			}
		}
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	switch {
	case version == "":
		return nil, malformed(SARIF, "version", "missing: a SARIF log states its version (2.1.0)")
	case !sawRuns:
		return nil, malformed(SARIF, "runs", "missing: a SARIF log has a runs array")
	}
	if rep.Scanner == "" {
		rep.Scanner = "sarif"
	}
	return rep, nil
}

func parseSARIFRun(s *jsonStream, p string, rep *Report) error {
	if err := s.open(p, '{'); err != nil {
		return err
	}
	var tool *sarif.Tool
	var hits []sarifHit
	for {
		more, err := s.more(p)
		if err != nil {
			return err
		}
		if !more {
			break
		}
		k, err := s.key(p)
		if err != nil {
			return err
		}
		switch k {
		case "tool":
			tool = &sarif.Tool{}
			if err := s.decode(p+".tool", tool); err != nil {
				return err
			}
		case "results":
			rp := p + ".results"
			if err := s.open(rp, '['); err != nil {
				return err
			}
			for j := 0; ; j++ {
				more, err := s.more(rp)
				if err != nil {
					return err
				}
				if !more {
					break
				}
				where := fmt.Sprintf("%s[%d]", rp, j)
				res := sarif.Result{RuleIndex: -1}
				if err := s.decode(where, &res); err != nil {
					return err
				}
				if suppressed(&res) {
					continue // accepted in the source: not a finding
				}
				hits = append(hits, reduceSARIFResult(&res, where))
			}
		default:
			if err := s.skip(p + "." + k); err != nil {
				return err
			}
		}
	}
	if tool == nil || tool.Driver == nil || tool.Driver.Name == nil || strings.TrimSpace(*tool.Driver.Name) == "" {
		return malformed(SARIF, p+".tool.driver.name", "missing: every run names the tool that produced it")
	}
	name := strings.ToLower(strings.TrimSpace(*tool.Driver.Name))
	if rep.Scanner == "" {
		rep.Scanner = name
	}
	rules := map[string]*sarifRule{}
	var byIndex []*sarifRule
	for _, d := range tool.Driver.Rules {
		if d == nil {
			byIndex = append(byIndex, nil)
			continue
		}
		ru := &sarifRule{id: deref(d.ID), name: deref(d.Name), short: mmText(d.ShortDescription), full: mmText(d.FullDescription),
			help: mmText(d.Help), helpURI: deref(d.HelpURI), props: d.Properties}
		for _, rel := range d.Relationships {
			if rel != nil && rel.Target != nil && rel.Target.ToolComponent != nil && strings.EqualFold(deref(rel.Target.ToolComponent.Name), "CWE") {
				ru.cwe = cweOf(deref(rel.Target.ID))
				break
			}
		}
		if d.DefaultConfiguration != nil {
			ru.level = d.DefaultConfiguration.Level
		}
		byIndex = append(byIndex, ru)
		if ru.id != "" {
			rules[ru.id] = ru
		}
	}
	unknown := map[string]*sarifRule{}
	for _, h := range hits {
		ru := rules[h.ruleID]
		if ru == nil && h.ruleIndex >= 0 && h.ruleIndex < len(byIndex) {
			ru = byIndex[h.ruleIndex]
		}
		if ru == nil {
			// A rule the tool did not describe: one shared value per id.
			if ru = unknown[h.ruleID]; ru == nil {
				ru = &sarifRule{}
				unknown[h.ruleID] = ru
			}
		}
		if h.ruleID == "" {
			h.ruleID = ru.id
		}
		if ru.fingerprint == "" {
			ru.title = h.ruleID
			if t := firstNonEmpty(ru.short, ru.name); t != "" && t != h.ruleID {
				ru.title = oneLine(h.ruleID+": "+t, 200)
			}
			ru.refs = httpURLs([]string{ru.helpURI})
			ru.fingerprint = RuleFingerprint(name, h.ruleID)
		}
		f := Finding{RuleID: h.ruleID, Location: h.location, Message: h.message, Where: h.where}
		f.RuleTitle = ru.title
		f.CWE = ru.cwe
		f.RuleDescription = firstNonEmpty(ru.full, ru.help, ru.short)
		if ru.help != "" && ru.help != f.RuleDescription {
			f.Remediation = ru.help
		}
		f.References = ru.refs
		for _, bag := range []*sarif.PropertyBag{h.props, ru.props} {
			if bag == nil {
				continue
			}
			for _, tag := range bag.Tags {
				if f.CWE == "" {
					f.CWE = cweOf(tag)
				}
			}
			if f.CWE == "" {
				f.CWE = cweOf(propString(bag, "cwe"))
			}
			if f.CVSSVector == "" {
				f.CVSSVector = firstNonEmpty(propString(bag, "cvssV3_vector"), propString(bag, "cvss_vector"), propString(bag, "cvssVector"))
			}
			if !f.HasScore {
				if sc, err := strconv.ParseFloat(propString(bag, "security-severity"), 64); err == nil && sc >= 0 && sc <= 10 {
					f.CVSSScore, f.HasScore = sc, true
				}
			}
		}
		// The result's own level wins; then a score (security-severity or
		// a vector, rated in finish); then the rule's default level.
		switch {
		case h.level != "":
			f.Severity = sarifSeverity(h.level)
		case f.HasScore || f.CVSSVector != "":
		default:
			f.Severity = sarifSeverity(ru.level)
		}
		if len(h.fingerprints) > 0 {
			f.Fingerprint = hashParts(append([]string{"sarif", name, h.ruleID, normLocation(pathOnly(h.location))}, h.fingerprints...)...)
		}
		f.RuleFingerprint = ru.fingerprint
		rep.Findings = append(rep.Findings, f)
	}
	return nil
}

func reduceSARIFResult(res *sarif.Result, where string) sarifHit {
	h := sarifHit{ruleIndex: res.RuleIndex, level: res.Level, props: res.Properties, where: where}
	h.ruleID = deref(res.RuleID)
	if h.ruleID == "" && res.Rule != nil {
		h.ruleID = deref(res.Rule.ID)
		if h.ruleIndex < 0 {
			h.ruleIndex = res.Rule.Index
		}
	}
	if res.Message != nil {
		h.message = firstNonEmpty(deref(res.Message.Text), deref(res.Message.Markdown))
	}
	for _, loc := range res.Locations {
		if loc == nil || loc.PhysicalLocation == nil || loc.PhysicalLocation.ArtifactLocation == nil {
			continue
		}
		pl := loc.PhysicalLocation
		h.location = deref(pl.ArtifactLocation.URI)
		if pl.Region != nil && pl.Region.StartLine != nil {
			h.location += ":" + strconv.Itoa(*pl.Region.StartLine)
		}
		break
	}
	// Full fingerprints identify a result on their own; partial ones only
	// with the rule and the file, which are hashed alongside.
	switch {
	case len(res.Fingerprints) > 0:
		h.fingerprints = append([]string{"fingerprints"}, sortedPairs(res.Fingerprints)...)
	case len(res.PartialFingerprints) > 0:
		h.fingerprints = append([]string{"partialFingerprints"}, sortedPairs(res.PartialFingerprints)...)
	}
	return h
}

// suppressed reports whether a result carries an accepted (or
// status-less) suppression, as SARIF consumers are expected to honour.
func suppressed(res *sarif.Result) bool {
	for _, sup := range res.Suppressions {
		if sup == nil {
			continue
		}
		if st := deref(sup.Status); st == "" || st == "accepted" {
			return true
		}
	}
	return false
}

// pathOnly drops a ":line" suffix: with partial fingerprints the line may
// move while the finding stays the same.
func pathOnly(loc string) string {
	if i := strings.LastIndexByte(loc, ':'); i > 0 {
		if _, err := strconv.Atoi(loc[i+1:]); err == nil {
			return loc[:i]
		}
	}
	return loc
}

func sarifSeverity(level string) tracker.Severity {
	switch level {
	case "error":
		return tracker.SeverityHigh
	case "note":
		return tracker.SeverityLow
	case "none":
		return tracker.SeverityInfo
	}
	return tracker.SeverityMedium // "warning", SARIF's default level
}

func mmText(m *sarif.MultiformatMessageString) string {
	if m == nil {
		return ""
	}
	return strings.TrimSpace(firstNonEmpty(deref(m.Markdown), deref(m.Text)))
}

func propString(b *sarif.PropertyBag, key string) string {
	if b == nil || b.Properties == nil {
		return ""
	}
	v, ok := b.Properties[key]
	if !ok {
		return ""
	}
	return str(v)
}

// cweOf extracts "CWE-89" from the spellings scanners use: "CWE-89",
// "external/cwe/cwe-89", "cwe-89", "89" (from a "cwe" property).
func cweOf(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if i := strings.LastIndex(s, "cwe-"); i >= 0 {
		s = s[i+4:]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return ""
	}
	return "CWE-" + strconv.Itoa(n)
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}
