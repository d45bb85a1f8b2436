package benchmark

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/store"
)

// Intake targets (PRODUCT.md §6).
const (
	intakeRate  = 2000
	intakeP99MS = 25
	intakeRatio = 0.5
)

// runIntake measures the webhook receiver: deliveries per second sustained
// by many concurrent senders over loopback HTTP (closed loop), the p99
// answer time when deliveries are offered at the target rate (open loop:
// latency counts from the moment each delivery was due, so a receiver that
// falls behind is charged for the wait), and the ratio of the sustained
// rate to that of a bare handler that only verifies the signature, measured
// in the same run on the same body. The body is a real issue_updated
// delivery the simulator sent for a linked issue; each send carries a
// unique X-Atlassian-Webhook-Identifier, so each is recorded as new. The
// sync workers are not running: intake is verify, dedupe, record, answer.
func runIntake(ctx context.Context, env *runEnv, rec recorder) error {
	o := env.opts
	s, err := env.newStack(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	in, err := s.setup(ctx, "intake")
	if err != nil {
		return err
	}
	items, err := s.createVulns(ctx, in.targetID, 1, "Intake")
	if err != nil {
		return err
	}
	if _, err := s.runner.RunPending(ctx); err != nil {
		return fmt.Errorf("sync the linked item: %w", err)
	}
	link, err := s.linkOf(ctx, items[0].ID)
	if err != nil {
		return err
	}
	if link.IssueKey == "" {
		return fmt.Errorf("item %s has no issue after its sync", items[0].ID)
	}
	if o.Preload > 0 {
		start := time.Now()
		if _, err := preloadLinked(ctx, s, in, o.Preload, link.Synced); err != nil {
			return err
		}
		rec.note("%d more linked items preloaded in %.1f s", o.Preload, time.Since(start).Seconds())
	}
	// A person edits the issue; the simulator's delivery is the body the
	// senders replay.
	if err := s.jira(ctx, "dev", "PUT", "/rest/api/3/issue/"+link.IssueKey, map[string]any{"fields": map[string]any{"labels": []string{"intake"}}}, nil); err != nil {
		return fmt.Errorf("edit the issue in Jira: %w", err)
	}
	var d tappedDelivery
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		d, ok = s.hooks.find(func(b []byte) bool {
			return bytes.Contains(b, []byte(`"jira:issue_updated"`)) && bytes.Contains(b, []byte(`"`+link.IssueKey+`"`))
		})
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the simulator sent no issue_updated delivery for %s", link.IssueKey)
		}
		if err := pause(ctx, 5*time.Millisecond); err != nil {
			return err
		}
	}
	sig := d.header.Get("X-Hub-Signature")
	if err := jirahook.Verify([]byte(in.secret), sig, d.body); err != nil {
		return fmt.Errorf("the simulator's delivery is not signed with the connection's secret: %w", err)
	}

	bareURL, stopBare, err := serveLoopback(bareHandler([]byte(in.secret)), s.log)
	if err != nil {
		return fmt.Errorf("start the bare handler: %w", err)
	}
	defer stopBare()
	receiver := s.apiURL + "/webhooks/jira/" + in.connectionID
	snd := newSender(o.Senders, d.body, sig)
	defer snd.close()

	dur := o.Duration
	warm := min(dur/10, time.Second)
	snd.closedLoop(ctx, bareURL, warm)
	warmRcv := snd.closedLoop(ctx, receiver, warm)
	bare1 := snd.closedLoop(ctx, bareURL, dur/4)
	rcv := snd.closedLoop(ctx, receiver, dur/2)
	bare2 := snd.closedLoop(ctx, bareURL, dur/4)
	open := snd.openLoop(ctx, receiver, intakeRate, dur/2, max(o.Senders, 64))
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, p := range []struct {
		name string
		ph   phase
	}{{"bare handler", bare1}, {"receiver", rcv}, {"bare handler", bare2}, {"receiver at the target rate", open}} {
		if p.ph.failed > 0 {
			rec.note("%s: %d sends failed (first: %v)", p.name, p.ph.failed, p.ph.firstErr)
		}
	}
	if rcv.ok == 0 || bare1.ok+bare2.ok == 0 {
		return fmt.Errorf("no delivery was accepted (receiver %d, bare %d): first error %v", rcv.ok, bare1.ok+bare2.ok, firstNonNil(rcv.firstErr, bare1.firstErr))
	}

	// A delivery answered with an error was not accepted: it counts as
	// not answered within the whole phase.
	openLat := open.lat
	for range open.failed {
		openLat = append(openLat, dur/2)
	}
	rcvRate := rcv.rate()
	bareRate := perSecond(bare1.ok+bare2.ok, bare1.elapsed+bare2.elapsed)
	rec.add(fmt.Sprintf("deliveries/s sustained, %d senders", o.Senders), rcvRate, "/s", atLeast(intakeRate))
	rec.add(fmt.Sprintf("p99 answer, %d deliveries/s offered", intakeRate), percentile(openLat, 99), "ms", atMost(intakeP99MS))
	rec.add("ratio to a verify-only handler", rcvRate/bareRate, "x", atLeast(intakeRatio))
	rec.add("verify-only handler deliveries/s", bareRate, "/s", nil)
	rec.add(fmt.Sprintf("p50 answer, %d deliveries/s offered", intakeRate), percentile(openLat, 50), "ms", nil)
	rec.add(fmt.Sprintf("p99 answer, %d senders flat out", o.Senders), percentile(rcv.lat, 99), "ms", nil)

	accepted := warmRcv.ok + rcv.ok + open.ok
	sample := append(append(append([]string{}, warmRcv.sample...), rcv.sample...), open.sample...)
	missing, err := unrecorded(ctx, s, in.connectionID, sample)
	if err != nil {
		return err
	}
	rec.note("body: the simulator's issue_updated delivery for %s (%d bytes), signed; unique identifiers; sync workers stopped", link.IssueKey, len(d.body))
	rec.note("phases: warm-up %v each, verify-only %v, receiver %v, verify-only %v, then %d/s offered for %v (%d sent, %.0f/s achieved)",
		warm, dur/4, dur/2, dur/4, intakeRate, dur/2, open.ok+open.failed, open.rate())
	rec.note("receiver accepted %d deliveries; %d of them, drawn evenly, were looked up in the store: %d missing", accepted, len(sample), missing)
	if missing > 0 {
		return fmt.Errorf("%d of %d accepted deliveries sampled are not recorded", missing, len(sample))
	}
	rec.note("senders and server share the machine's CPUs (GOMAXPROCS applies to both)")
	return nil
}

// errProbe rolls back the transaction of a lookup.
var errProbe = errors.New("probe: roll back")

// unrecorded counts the delivery identifiers that the store does not
// hold. Each is looked up by recording it again in a transaction that is
// rolled back: the store answers whether it was new, and nothing changes.
func unrecorded(ctx context.Context, s *stack, connID string, keys []string) (int, error) {
	missing := 0
	for _, k := range keys {
		var isNew bool
		err := s.st.InTx(ctx, func(tx store.Tx) error {
			_, n, err := tx.RecordDelivery(ctx, store.Delivery{ConnectionID: connID, DeliveryKey: k, Status: store.DeliveryQueued, Body: []byte("{}"), ReceivedAt: time.Now()})
			if err != nil {
				return err
			}
			isNew = n
			return errProbe
		})
		if !errors.Is(err, errProbe) {
			return 0, fmt.Errorf("look up delivery %s: %w", k, err)
		}
		if isNew {
			missing++
		}
	}
	return missing, nil
}

func firstNonNil(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// bareHandler is the reference of PRODUCT.md §6: read the body (with the
// receiver's size limit), verify its signature, answer.
func bareHandler(secret []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, store.MaxDeliveryBytes))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		if jirahook.Verify(secret, r.Header.Get("X-Hub-Signature"), body) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"accepted"}`))
	})
}

// sender posts one signed body with a fresh identifier each time.
type sender struct {
	client *http.Client
	n      int
	body   []byte
	sig    string
	prefix string
	seq    atomic.Int64
}

func newSender(n int, body []byte, sig string) *sender {
	tr := &http.Transport{MaxIdleConnsPerHost: max(n, 64), MaxIdleConns: 0, DisableCompression: true, IdleConnTimeout: time.Minute}
	return &sender{client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, n: n, body: body, sig: sig,
		prefix: "bench-" + strings.ToLower(rand.Text()[:10])}
}

func (s *sender) close() { s.client.CloseIdleConnections() }

// sampleEvery keeps one accepted identifier in that many for the check
// that accepted deliveries are recorded.
const sampleEvery = 50

// post sends one delivery and returns its identifier, and an error unless
// the answer is 2xx.
func (s *sender) post(ctx context.Context, url string) (int64, error) {
	seq := s.seq.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(s.body))
	if err != nil {
		return seq, fmt.Errorf("build delivery: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Atlassian Webhook HTTP Client")
	req.Header.Set("X-Hub-Signature", s.sig)
	req.Header.Set("X-Atlassian-Webhook-Identifier", s.id(seq))
	resp, err := s.client.Do(req)
	if err != nil {
		return seq, fmt.Errorf("post delivery: %w", err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return seq, fmt.Errorf("post delivery: status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	return seq, nil
}

func (s *sender) id(seq int64) string { return fmt.Sprintf("%s-%d", s.prefix, seq) }

// accepted books an answered delivery in p.
func (s *sender) accepted(p *phase, seq int64, lat time.Duration) {
	p.lat = append(p.lat, lat)
	p.ok++
	if seq%sampleEvery == 0 {
		p.sample = append(p.sample, s.id(seq))
	}
}

func (p *phase) fail(err error) {
	p.failed++
	if p.firstErr == nil {
		p.firstErr = err
	}
}

// phase is what one sending phase saw.
type phase struct {
	ok, failed int
	elapsed    time.Duration
	lat        []time.Duration
	firstErr   error
	// sample holds some accepted identifiers.
	sample []string
}

func (p phase) rate() float64 { return perSecond(p.ok, p.elapsed) }

func (p *phase) merge(q phase) {
	p.ok += q.ok
	p.failed += q.failed
	p.lat = append(p.lat, q.lat...)
	p.sample = append(p.sample, q.sample...)
	if p.firstErr == nil {
		p.firstErr = q.firstErr
	}
}

// closedLoop has every sender post, wait for the answer and post again,
// for d; the time is that of the last answer.
func (s *sender) closedLoop(ctx context.Context, url string, d time.Duration) phase {
	start := time.Now()
	deadline := start.Add(d)
	parts := make([]phase, s.n)
	var wg sync.WaitGroup
	for i := range s.n {
		wg.Go(func() {
			p := &parts[i]
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				seq, err := s.post(ctx, url)
				if err != nil {
					p.fail(err)
					continue
				}
				s.accepted(p, seq, time.Since(t0))
			}
		})
	}
	wg.Wait()
	var out phase
	for _, p := range parts {
		out.merge(p)
	}
	out.elapsed = time.Since(start)
	return out
}

// openLoop offers deliveries at a fixed rate for d, whatever the answers:
// delivery i is due at start + i/rate and its latency counts from then, so
// time spent waiting for a free worker is charged to the receiver.
func (s *sender) openLoop(ctx context.Context, url string, rate float64, d time.Duration, workers int) phase {
	total := int(rate * d.Seconds())
	due := make(chan time.Time, total)
	start := time.Now()
	go func() {
		defer close(due)
		for i := 0; i < total && ctx.Err() == nil; {
			now := time.Now()
			for ; i < total; i++ {
				at := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if at.After(now) {
					_ = pause(ctx, at.Sub(now))
					break
				}
				due <- at
			}
		}
	}()
	parts := make([]phase, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			p := &parts[i]
			for at := range due {
				seq, err := s.post(ctx, url)
				if err != nil {
					p.fail(err)
					continue
				}
				s.accepted(p, seq, time.Since(at))
			}
		})
	}
	wg.Wait()
	var out phase
	for _, p := range parts {
		out.merge(p)
	}
	out.elapsed = time.Since(start)
	return out
}
