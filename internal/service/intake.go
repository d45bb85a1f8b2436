package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/vulnsync/vulnsync/internal/cvss"
	"github.com/vulnsync/vulnsync/internal/scanreport"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// ImportRequest is one scanner report to import into a target.
type ImportRequest struct {
	TargetID string
	// Format is one of scanreport.Formats.
	Format string
	// Filename is the uploaded file's name, recorded with the import.
	Filename string
	// Scanner names the tool; empty means the one the report names. Items
	// remember it: close_missing only ever closes the scanner's own items.
	Scanner string
	// CloseMissing resolves this scanner's open items of the target that
	// the report does not contain (the report is a full re-scan).
	CloseMissing bool
	// Report is the report's content; it is read to its end.
	Report io.Reader
}

// Import parses a scanner report and applies it to the target's items in
// one transaction, with the import record, the history rows and the sync
// jobs: a report that cannot be read in full, or a failure halfway, leaves
// the target as it was.
//
// Each rule (or CVE) of the report is one vulnerability, each finding one
// finding under it, both identified by fingerprint: a fingerprint already
// in the target updates that item, so importing a report twice creates
// nothing the second time. A resolved item detected again is reopened with
// a new due date, and so is a fixed one (awaiting retest: the scan is the
// retest, and it failed); false positives and accepted risks are left
// alone. With CloseMissing, the scanner's open and fixed items the report
// no longer contains are resolved with a comment saying which import did
// it (for a fixed item, that its retest passed).
func (s *Service) Import(ctx context.Context, actor Actor, req ImportRequest) (tracker.Import, error) {
	p := tracker.Problems{}
	req.Filename = strings.TrimSpace(req.Filename)
	if len(req.Filename) > 255 {
		p.Add("file", "file name must be at most 255 characters")
	}
	req.Scanner = strings.ToLower(strings.TrimSpace(req.Scanner))
	if len(req.Scanner) > 100 || strings.ContainsAny(req.Scanner, "\r\n\t") {
		p.Add("scanner", "must be at most 100 characters on one line")
	}
	if err := p.Err(tracker.EInvalid, "invalid import"); err != nil {
		return tracker.Import{}, err
	}
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(req.Report, h)}
	rep, err := scanreport.Parse(scanreport.Format(req.Format), counted)
	if err != nil {
		return tracker.Import{}, err
	}
	// The parsers stop at the end of the document; hash what follows too.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return tracker.Import{}, fmt.Errorf("import: read report: %w", err)
	}
	im := tracker.Import{ID: newID(), TargetID: req.TargetID, Format: req.Format, Scanner: req.Scanner,
		Filename: req.Filename, SHA256: hex.EncodeToString(h.Sum(nil)), Size: counted.n, Actor: actor.label(),
		CloseMissing: req.CloseMissing, Findings: len(rep.Findings), CreatedAt: s.Now()}
	if im.Scanner == "" {
		im.Scanner = rep.Scanner
	}
	groups := groupFindings(rep.Findings)
	err = s.write(ctx, func(tx store.Tx) error {
		im.ImportCounts = tracker.ImportCounts{}
		a, err := s.newApplier(ctx, tx, actor, im)
		if err != nil {
			return err
		}
		for _, g := range groups {
			if err := a.applyGroup(g); err != nil {
				return err
			}
		}
		if req.CloseMissing {
			if err := a.closeMissing(); err != nil {
				return err
			}
		}
		im.ImportCounts = a.counts
		return tx.CreateImport(ctx, im)
	})
	if err != nil {
		return tracker.Import{}, fmt.Errorf("import %s report into target %s: %w", req.Format, req.TargetID, err)
	}
	s.log.InfoContext(ctx, "report imported", "import", im.ID, "target", im.TargetID, "scanner", im.Scanner, "findings", im.Findings,
		"created", im.Created, "updated", im.Updated, "reopened", im.Reopened, "closed", im.Closed, "unchanged", im.Unchanged)
	return im, nil
}

// ListImports returns a target's import records, newest first.
func (s *Service) ListImports(ctx context.Context, targetID, before string, limit int) (ims []tracker.Import, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { ims, err = tx.ListImports(ctx, targetID, before, limit); return err })
	return ims, err
}

// SLA returns the SLA policy of a target: its own, or the default (custom
// false) when it has none.
func (s *Service) SLA(ctx context.Context, targetID string) (sla tracker.SLA, custom bool, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		if _, err := tx.GetTarget(ctx, targetID); err != nil {
			return err
		}
		sla, custom, err = targetSLA(ctx, tx, targetID)
		return err
	})
	return sla, custom, err
}

// SetSLA sets a target's SLA policy. Existing due dates stay; the policy
// applies to items created or reopened from now on.
func (s *Service) SetSLA(ctx context.Context, targetID string, sla tracker.SLA) (tracker.SLA, error) {
	if err := sla.Validate(); err != nil {
		return tracker.SLA{}, err
	}
	if err := s.write(ctx, func(tx store.Tx) error { return tx.PutSLA(ctx, targetID, sla) }); err != nil {
		return tracker.SLA{}, fmt.Errorf("set sla of target %s: %w", targetID, err)
	}
	return sla, nil
}

func targetSLA(ctx context.Context, tx store.Tx, targetID string) (tracker.SLA, bool, error) {
	sla, err := tx.GetSLA(ctx, targetID)
	switch {
	case err == nil:
		return sla, true, nil
	case tracker.KindOf(err) == tracker.ENotFound:
		return tracker.DefaultSLA(), false, nil
	}
	return tracker.SLA{}, false, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// findingGroup is one vulnerability of a report with its findings, each
// fingerprint once, in report order. It points into the report's findings
// rather than copying them: a large report is held once.
type findingGroup struct {
	findings []*scanreport.Finding
}

func groupFindings(fs []scanreport.Finding) []*findingGroup {
	var out []*findingGroup
	byRule := map[string]*findingGroup{}
	seen := make(map[string]bool, len(fs))
	for i := range fs {
		f := &fs[i]
		if seen[f.Fingerprint] {
			continue // the same finding twice in one report is one finding
		}
		seen[f.Fingerprint] = true
		g := byRule[f.RuleFingerprint]
		if g == nil {
			g = &findingGroup{}
			byRule[f.RuleFingerprint] = g
			out = append(out, g)
		}
		g.findings = append(g.findings, f)
	}
	return out
}

// applier applies one import inside its transaction.
type applier struct {
	s       *Service
	ctx     context.Context
	tx      store.Tx
	catalog tracker.Catalog
	sla     tracker.SLA
	im      tracker.Import
	change  tracker.Change
	origin  tracker.Origin
	refs    map[string]store.FingerprintRef
	seen    map[string]bool
	counts  tracker.ImportCounts
}

func (s *Service) newApplier(ctx context.Context, tx store.Tx, actor Actor, im tracker.Import) (*applier, error) {
	if _, err := tx.GetTarget(ctx, im.TargetID); err != nil {
		return nil, err
	}
	c, err := catalog(ctx, tx)
	if err != nil {
		return nil, err
	}
	sla, _, err := targetSLA(ctx, tx, im.TargetID)
	if err != nil {
		return nil, err
	}
	refs, err := tx.ItemFingerprints(ctx, im.TargetID)
	if err != nil {
		return nil, err
	}
	a := &applier{s: s, ctx: ctx, tx: tx, catalog: c, sla: sla, im: im, origin: actor.Origin,
		change: tracker.Change{Actor: fmt.Sprintf("%s (import %s)", actor.label(), im.ID), Origin: actor.Origin, At: im.CreatedAt},
		refs:   make(map[string]store.FingerprintRef, len(refs)), seen: map[string]bool{}}
	for _, r := range refs {
		a.refs[r.Fingerprint] = r
	}
	return a, nil
}

// applyGroup creates or updates the vulnerability of g, then its findings.
func (a *applier) applyGroup(g *findingGroup) error {
	first := g.findings[0]
	vuln := tracker.NewItem{Kind: tracker.KindVulnerability, Title: first.RuleTitle, Severity: first.Severity,
		Description: a.vulnDescription(first), Fields: map[string]any{}}
	best := -1.0
	for _, f := range g.findings {
		if rank(f.Severity) < rank(vuln.Severity) {
			vuln.Severity = f.Severity
		}
		if f.HasScore && f.CVSSScore > best {
			best = f.CVSSScore
			vuln.Fields["cvss_score"] = f.CVSSScore
			if f.CVSSVector != "" {
				vuln.Fields["cvss_vector"] = f.CVSSVector
			} else {
				delete(vuln.Fields, "cvss_vector")
			}
		}
	}
	if first.CWE != "" {
		vuln.Fields["cwe"] = first.CWE
	}
	if len(first.References) > 0 {
		vuln.Fields["references"] = first.References
	}
	if first.Remediation != "" {
		vuln.Fields["remediation"] = clip(first.Remediation, tracker.MaxTextLen)
	}
	if l := labelOf(a.im.Scanner); l != "" {
		vuln.Fields["labels"] = []string{l}
	}
	vulnID, err := a.upsert(first.RuleFingerprint, vuln, nil)
	if err != nil {
		return err
	}
	for _, f := range g.findings {
		n := tracker.NewItem{Kind: tracker.KindFinding, ParentID: vulnID, Severity: f.Severity,
			Title: findingTitle(f), Description: a.findingDescription(f), Fields: map[string]any{}}
		if f.Location != "" {
			n.Fields["location"] = clip(f.Location, tracker.MaxTextLen)
		}
		if f.HasScore {
			n.Fields["cvss_score"] = f.CVSSScore
		}
		if f.CVSSVector != "" {
			n.Fields["cvss_vector"] = f.CVSSVector
		}
		if _, err := a.upsert(f.Fingerprint, n, &vulnID); err != nil {
			return err
		}
	}
	return nil
}

// upsert creates the item of fingerprint fp from n, or brings the existing
// one up to date (and reopens it when it was resolved). It returns the
// item's id.
func (a *applier) upsert(fp string, n tracker.NewItem, parentID *string) (string, error) {
	ref, ok := a.refs[fp]
	if !ok {
		return a.create(fp, n)
	}
	a.seen[fp] = true
	if ref.Status == tracker.StatusFalsePositive || ref.Status == tracker.StatusAcceptedRisk {
		a.counts.Unchanged++ // a decision people made: the scanner does not overrule it
		return ref.ItemID, nil
	}
	it, err := a.tx.GetItem(a.ctx, ref.ItemID)
	if err != nil {
		return "", err
	}
	patch := tracker.Patch{Title: &n.Title, Description: &n.Description, Severity: &n.Severity, Fields: map[string]any{}}
	for _, name := range []string{"cvss_score", "cvss_vector", "cwe", "references", "remediation", "location", "labels"} {
		v, has := n.Fields[name]
		_, had := it.Fields[name]
		switch {
		case has:
			patch.Fields[name] = v
		case had:
			patch.Fields[name] = nil
		}
	}
	retestFailed := it.Status.AwaitsRetest() // a claimed fix the scanner still finds
	reopen := it.Status == tracker.StatusResolved || retestFailed
	if reopen {
		open := tracker.StatusOpen
		patch.Status = &open
		if due, ok := a.sla.DueDate(n.Severity, a.im.CreatedAt); ok {
			patch.Fields["due_date"] = due
		}
	}
	prev := it.Version
	hist, err := a.catalog.Apply(&it, patch, a.change)
	if err != nil {
		return "", fmt.Errorf("update item %s from %s: %w", it.ID, a.im.Scanner, err)
	}
	if len(hist) == 0 {
		a.counts.Unchanged++
		return it.ID, nil
	}
	if err := a.tx.UpdateItem(a.ctx, it, prev, hist); err != nil {
		return "", err
	}
	if err := a.s.emit(a.ctx, a.tx, Event{Type: ItemUpdated, Item: it, History: hist, Origin: a.origin}); err != nil {
		return "", err
	}
	if retestFailed {
		a.counts.Reopened++
		return it.ID, a.note(it, fmt.Sprintf("**Retest failed** — reopened by import %s: %s still detects this after the fix (%s).", a.im.ID, a.im.Scanner, a.fileLabel()))
	}
	if reopen {
		a.counts.Reopened++
		return it.ID, a.note(it, fmt.Sprintf("Reopened by import %s: %s detected this again (%s).", a.im.ID, a.im.Scanner, a.fileLabel()))
	}
	a.counts.Updated++
	return it.ID, nil
}

func (a *applier) create(fp string, n tracker.NewItem) (string, error) {
	if due, ok := a.sla.DueDate(n.Severity, a.im.CreatedAt); ok {
		n.Fields["due_date"] = due
	}
	var parent *tracker.Item
	if n.ParentID != "" {
		// The parent was created or checked by this import a moment ago.
		parent = &tracker.Item{ID: n.ParentID, Kind: tracker.KindVulnerability, TargetID: a.im.TargetID}
	}
	it, hist, err := a.catalog.Build(a.im.TargetID, newID(), n, parent, a.change)
	if err != nil {
		return "", fmt.Errorf("build item from %s: %w", a.im.Scanner, err)
	}
	it.Fingerprint, it.Scanner = fp, a.im.Scanner
	if err := a.tx.CreateItem(a.ctx, it, hist); err != nil {
		return "", err
	}
	if err := a.s.emit(a.ctx, a.tx, Event{Type: ItemCreated, Item: it, History: hist, Origin: a.origin}); err != nil {
		return "", err
	}
	a.counts.Created++
	return it.ID, nil
}

// closeMissing resolves the scanner's open items the report did not
// contain, findings before vulnerabilities (the order is by id otherwise).
func (a *applier) closeMissing() error {
	var missing []store.FingerprintRef
	for fp, r := range a.refs {
		if a.seen[fp] || r.Scanner != a.im.Scanner {
			continue
		}
		if r.Status == tracker.StatusOpen || r.Status == tracker.StatusInProgress || r.Status.AwaitsRetest() {
			missing = append(missing, r)
		}
	}
	sortRefs(missing)
	resolved := tracker.StatusResolved
	for _, r := range missing {
		it, err := a.tx.GetItem(a.ctx, r.ItemID)
		if err != nil {
			return err
		}
		retested := it.Status.AwaitsRetest()
		prev := it.Version
		hist, err := a.catalog.Apply(&it, tracker.Patch{Status: &resolved}, a.change)
		if err != nil {
			return err
		}
		if len(hist) == 0 {
			continue
		}
		if err := a.tx.UpdateItem(a.ctx, it, prev, hist); err != nil {
			return err
		}
		if err := a.s.emit(a.ctx, a.tx, Event{Type: ItemUpdated, Item: it, History: hist, Origin: a.origin}); err != nil {
			return err
		}
		a.counts.Closed++
		body := fmt.Sprintf("Resolved by import %s: %s no longer reports this in a full re-scan (%s).", a.im.ID, a.im.Scanner, a.fileLabel())
		if retested {
			body = fmt.Sprintf("**Retest passed** — resolved by import %s: %s no longer reports this in a full re-scan after the fix (%s).", a.im.ID, a.im.Scanner, a.fileLabel())
		}
		if err := a.note(it, body); err != nil {
			return err
		}
	}
	return nil
}

// note adds the import's comment to an item it reopened or resolved.
func (a *applier) note(it tracker.Item, body string) error {
	c := tracker.Comment{ID: newID(), ItemID: it.ID, Author: tracker.Author{Name: a.change.Actor}, Body: body,
		CreatedAt: a.im.CreatedAt, UpdatedAt: a.im.CreatedAt, Origin: a.origin}
	if err := a.tx.CreateComment(a.ctx, c); err != nil {
		return err
	}
	return a.s.emit(a.ctx, a.tx, Event{Type: CommentCreated, Item: it, Comment: &c, Origin: a.origin})
}

func (a *applier) fileLabel() string {
	if a.im.Filename == "" {
		return "sha256 " + a.im.SHA256[:12]
	}
	return a.im.Filename
}

func (a *applier) vulnDescription(f *scanreport.Finding) string {
	var b strings.Builder
	if f.RuleDescription != "" {
		b.WriteString(f.RuleDescription)
		b.WriteString("\n\n")
	}
	fmt.Fprintf(&b, "Reported by %s, rule `%s`.", a.im.Scanner, strings.ReplaceAll(f.RuleID, "`", "'"))
	return clip(b.String(), tracker.MaxTextLen)
}

func (a *applier) findingDescription(f *scanreport.Finding) string {
	var b strings.Builder
	if f.Message != "" {
		b.WriteString(f.Message)
		b.WriteString("\n\n")
	}
	if f.Location != "" {
		fmt.Fprintf(&b, "Location: %s\n\n", f.Location)
	}
	fmt.Fprintf(&b, "Reported by %s, rule `%s`.", a.im.Scanner, strings.ReplaceAll(f.RuleID, "`", "'"))
	return clip(b.String(), tracker.MaxTextLen)
}

func findingTitle(f *scanreport.Finding) string {
	t := f.RuleTitle
	if f.Location != "" {
		t += " at " + strings.Join(strings.Fields(f.Location), " ")
	}
	return clip(t, tracker.MaxTitleLen)
}

// clip bounds s to n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// labelOf makes a scanner name a Jira label (no white space).
func labelOf(scanner string) string {
	return clip(strings.Join(strings.Fields(scanner), "-"), 255)
}

func rank(s tracker.Severity) int {
	for i, v := range tracker.Severities {
		if v == s {
			return i
		}
	}
	return len(tracker.Severities)
}

func sortRefs(rs []store.FingerprintRef) {
	// Findings first, so a vulnerability is resolved after its findings;
	// then by id, so the order (and the sync jobs' order) is stable.
	less := func(x, y store.FingerprintRef) bool {
		if (x.Kind == tracker.KindFinding) != (y.Kind == tracker.KindFinding) {
			return x.Kind == tracker.KindFinding
		}
		return x.ItemID < y.ItemID
	}
	sort.Slice(rs, func(i, j int) bool { return less(rs[i], rs[j]) })
}

// scoreVector checks a CVSS vector set through the API or the UI and, when
// the same change sets no score, adds the vector's score to the returned
// copy of fields. An invalid vector is a field error. Changes from Jira
// are taken as Jira has them (refusing them would stall the sync).
func scoreVector(origin tracker.Origin, fields map[string]any) (map[string]any, error) {
	v, ok := fields["cvss_vector"].(string)
	if origin != tracker.OriginVulnsync || !ok || strings.TrimSpace(v) == "" {
		return fields, nil
	}
	score, err := cvss.Score(v)
	if err != nil {
		return nil, &tracker.Error{Kind: tracker.EInvalid, Message: "invalid item",
			Fields: map[string]string{"fields.cvss_vector": err.Error()}}
	}
	if _, set := fields["cvss_score"]; set {
		return fields, nil
	}
	out := make(map[string]any, len(fields)+1)
	for k, x := range fields {
		out[k] = x
	}
	out["cvss_score"] = score
	return out, nil
}
