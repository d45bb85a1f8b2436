package benchmark

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Targets of the import scenario (PRODUCT.md §6): 50,000 SARIF results into
// a target holding 100,000 items in at most 60 s and 300 MB peak RSS.
const (
	importTargetSeconds = 60
	importTargetMB      = 300
	// importRules is how many rules the generated report's results spread
	// over (one vulnerability each).
	importRules = 500
)

// runImport measures a scanner import: a target holding Items items (from
// an earlier scan, so each has a fingerprint the import must load and
// match against) receives a generated SARIF log of ImportResults results
// through POST /api/v1/targets/{id}/imports, as `vulnsync import` sends it.
// It times the first import (everything created) and the same report again
// (everything recognised, nothing created), and reads the peak RSS of the
// import alone: the peak is reset after loading (Linux's clear_refs) and
// read (VmHWM) after both imports.
func runImport(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var target struct {
		ID string `json:"id"`
	}
	if err := s.api(ctx, "POST", "/api/v1/targets", map[string]any{"name": "scanned"}, &target); err != nil {
		return fmt.Errorf("create the target: %w", err)
	}
	loadStart := time.Now()
	if err := preloadFingerprinted(ctx, s, target.ID, o.Items); err != nil {
		return err
	}
	loadTook := time.Since(loadStart)

	dir, err := os.MkdirTemp(o.TempDir, "vulnsync-bench-sarif-")
	if err != nil {
		return fmt.Errorf("make a directory for the report: %w", err)
	}
	env.dirs = append(env.dirs, dir)
	report := filepath.Join(dir, "bench.sarif")
	size, err := writeBenchSARIF(report, o.ImportResults)
	if err != nil {
		return err
	}
	runtime.GC()
	debug.FreeOSMemory()
	peakReset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	rssBefore, err := readProcStatus("VmRSS")
	if err != nil {
		return err
	}

	start := time.Now()
	first, err := s.importFile(ctx, target.ID, report)
	if err != nil {
		return fmt.Errorf("first import: %w", err)
	}
	firstTook := time.Since(start)
	start = time.Now()
	second, err := s.importFile(ctx, target.ID, report)
	if err != nil {
		return fmt.Errorf("second import: %w", err)
	}
	secondTook := time.Since(start)
	hwm, err := readProcStatus("VmHWM")
	if err != nil {
		return err
	}
	wantItems := importRules + o.ImportResults
	if o.ImportResults < importRules {
		wantItems = 2 * o.ImportResults
	}
	if first.Created != wantItems || second.Created != 0 || second.Unchanged != wantItems {
		return fmt.Errorf("imports did %+v then %+v; want %d created, then %d unchanged", first, second, wantItems, wantItems)
	}
	rec.add(fmt.Sprintf("%d SARIF results into %d items", o.ImportResults, o.Items), firstTook.Seconds(), "s", atMost(importTargetSeconds))
	peakWhat := "peak RSS of the imports (VmHWM after a reset)"
	if !peakReset {
		peakWhat = "peak RSS of the process, loading included (VmHWM; the reset was refused)"
	}
	rec.add(peakWhat, mb(hwm), "MB", atMost(importTargetMB))
	rec.add("the same report again (nothing created)", secondTook.Seconds(), "s", nil)
	rec.add("RSS before the imports", mb(rssBefore), "MB", nil)
	rec.note("target preloaded with %d fingerprinted items of an earlier scan in %.1f s; report %.1f MB, %d results over %d rules, uploaded through the API (multipart, spooled to a file)",
		o.Items, loadTook.Seconds(), float64(size)/1e6, o.ImportResults, min(importRules, o.ImportResults))
	rec.note("first import created %d items (vulnerabilities and findings); the second found all %d unchanged; the target is not integrated, so no sync jobs were enqueued; store %s",
		first.Created, second.Unchanged, s.st.Backend())
	return nil
}

// importCounts is the part of the import answer the scenario checks.
type importCounts struct {
	Created   int `json:"created"`
	Unchanged int `json:"unchanged"`
}

// importFile uploads a SARIF file as `vulnsync import` does: streamed.
func (s *stack) importFile(ctx context.Context, targetID, path string) (importCounts, error) {
	f, err := os.Open(path)
	if err != nil {
		return importCounts{}, err
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := mw.WriteField("format", "sarif")
		if err == nil {
			var part io.Writer
			if part, err = mw.CreateFormFile("file", filepath.Base(path)); err == nil {
				if _, err = io.Copy(part, f); err == nil {
					err = mw.Close()
				}
			}
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequestWithContext(ctx, "POST", s.apiURL+"/api/v1/targets/"+targetID+"/imports", pr)
	if err != nil {
		return importCounts{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	hc := &http.Client{Timeout: 10 * time.Minute}
	resp, err := hc.Do(req)
	if err != nil {
		return importCounts{}, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return importCounts{}, fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	var c importCounts
	if err := json.Unmarshal(raw, &c); err != nil {
		return importCounts{}, fmt.Errorf("decode the answer: %w", err)
	}
	return c, nil
}

// preloadFingerprinted writes n items of an earlier scan (another
// scanner, one vulnerability per 100 findings) straight to the store.
func preloadFingerprinted(ctx context.Context, s *stack, targetID string, n int) error {
	cat, err := s.svc.Catalog(ctx)
	if err != nil {
		return fmt.Errorf("read the catalog: %w", err)
	}
	ch := tracker.Change{Actor: benchActor.Email, Origin: tracker.OriginVulnsync, At: time.Now()}
	var parent *tracker.Item
	const batch = 1000
	for from := 0; from < n; from += batch {
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			for i := from; i < min(from+batch, n); i++ {
				nw := tracker.NewItem{Kind: tracker.KindVulnerability, Title: fmt.Sprintf("Earlier rule %d", i), Severity: tracker.SeverityMedium,
					Description: "Found by an earlier scan.", Fields: map[string]any{"due_date": "2030-01-01"}}
				if i%100 != 0 && parent != nil {
					nw.Kind, nw.ParentID = tracker.KindFinding, parent.ID
					nw.Title = fmt.Sprintf("Earlier finding %d at src/pkg%d/file%d.go:%d", i, i%97, i%13, i%400)
					nw.Fields["location"] = fmt.Sprintf("src/pkg%d/file%d.go:%d", i%97, i%13, i%400)
				}
				it, hist, err := cat.Build(targetID, newItemID(), nw, parent, ch)
				if err != nil {
					return err
				}
				it.Fingerprint, it.Scanner = fmt.Sprintf("earlier-%040d", i), "earlier-scanner"
				if err := tx.CreateItem(ctx, it, hist); err != nil {
					return err
				}
				if it.Kind == tracker.KindVulnerability {
					p := it
					parent = &p
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("preload items %d–%d: %w", from, min(from+batch, n)-1, err)
		}
	}
	return nil
}

// writeBenchSARIF writes a SARIF 2.1.0 log of n results over importRules
// rules, in the shape gosec writes (rules with CWE relationships, results
// with a region), streamed to path. It returns the file's size.
func writeBenchSARIF(path string, n int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("write the report: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	rules := min(importRules, n)
	fmt.Fprint(w, `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"bench-sast","version":"1.0","rules":[`)
	levels := []string{"error", "warning", "note"}
	for r := 0; r < rules; r++ {
		if r > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"id":"B%04d","name":"BenchRule%d","shortDescription":{"text":"Bench rule %d finds a weakness"},"fullDescription":{"text":"Bench rule %d: a longer description of the weakness it finds, as scanners write them, with enough words to look like one."},"help":{"text":"Fix it the way rule %d says."},"defaultConfiguration":{"level":%q},"properties":{"tags":["security","CWE-%d"]}}`,
			r, r, r, r, r, levels[r%3], 20+r%600)
	}
	fmt.Fprint(w, `]}},"results":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			w.WriteByte(',')
		}
		r := i % rules
		fmt.Fprintf(w, `{"ruleId":"B%04d","ruleIndex":%d,"level":%q,"message":{"text":"Rule %d fires on call %d of this file"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/pkg%d/file%d.go","uriBaseId":"%%SRCROOT%%"},"region":{"startLine":%d,"startColumn":%d,"snippet":{"text":"x := unsafe(input%d)"}}}}]}`,
			r, r, levels[r%3], r, i, i%211, i%17, 1+i%997, 1+i%40, i)
	}
	fmt.Fprint(w, `]}]}`)
	if err := w.Flush(); err != nil {
		return 0, fmt.Errorf("write the report: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("write the report: %w", err)
	}
	return st.Size(), nil
}
