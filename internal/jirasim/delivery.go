package jirasim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// This file delivers webhooks the way Jira Cloud does: signed with
// X-Hub-Signature when the webhook has a secret, identified by
// X-Atlassian-Webhook-Identifier (stable across retries), flagged
// X-Atlassian-Webhook-Flow: Primary (the event itself) or Secondary
// (fallout of another change), retried on 408, 409, 425, 429, 5xx and
// timeouts with exponential backoff, up to 5 retries, each retry carrying
// X-Atlassian-Webhook-Retry: N and the flow of the original delivery. The
// profile changes this: Data Center 9 neither signs, identifies nor
// retries; Data Center sends no flow header. Data Center 10 is modelled
// as signing (configuration.SECRET), identifying and retrying, since the
// sources only document that versions before 10 do not;
// and with the injected faults: the delay is applied when a delivery is
// queued, drop/duplicate/reorder when deliveries go out (so DeliverWebhooks
// honours the faults in force when it is called).

// maxRetries is how many times a delivery is retried after its first send.
const maxRetries = 5

// Signature returns the X-Hub-Signature value Jira sends for body under
// secret: "sha256=" and the hex HMAC-SHA256 of the raw body.
func Signature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// delivery is one webhook send (and its retries).
type delivery struct {
	id     string
	url    string
	secret string
	body   []byte
	retry  int
	due    time.Time
	// secondary: fallout of another change (Flow: Secondary).
	secondary bool
}

// dispatcher queues and sends deliveries. In automatic mode worker
// goroutines send them as they fall due (wall time); in manual mode nothing
// is sent until DeliverWebhooks, which uses the simulator's clock.
type dispatcher struct {
	clock   func() time.Time
	client  *http.Client
	manual  bool
	base    time.Duration
	seed    int64
	log     func(msg string, args ...any)
	cancel  context.CancelFunc // stops the automatic workers' sends
	profile Profile
	wg      sync.WaitGroup
	wake    chan struct{}
	workers int

	mu       sync.Mutex
	queue    []*delivery
	inflight int
	idle     chan struct{} // closed while idle
	faults   Faults
	rng      *rand.Rand
	ids      *rand.Rand
	ctr      WebhookCounters
	closed   bool
}

func newDispatcher(s *Simulator, cfg Config) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	d := &dispatcher{
		clock:   cfg.Clock,
		client:  cfg.WebhookClient,
		manual:  cfg.ManualWebhooks,
		base:    cfg.WebhookRetryBase,
		seed:    cfg.Seed,
		profile: cfg.Profile,
		log:     s.log.Warn,
		cancel:  cancel,
		wake:    make(chan struct{}, cfg.WebhookWorkers),
		workers: cfg.WebhookWorkers,
		idle:    make(chan struct{}),
		rng:     newRand(cfg.Seed, 0x5eed0002),
		ids:     newRand(cfg.Seed, 0x5eed0003),
	}
	close(d.idle)
	if !d.manual {
		for range d.workers {
			d.wg.Add(1)
			go d.work(ctx)
		}
	}
	return d
}

// now is the time base for due dates: the simulator's clock in manual
// mode, wall time for the automatic workers (which sleep on real timers).
func (d *dispatcher) now() time.Time {
	if d.manual {
		return d.clock()
	}
	return time.Now()
}

func (d *dispatcher) setFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

func (d *dispatcher) reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = Faults{}
	d.ctr = WebhookCounters{}
	d.rng = newRand(d.seed, 0x5eed0002)
}

func (d *dispatcher) counters() WebhookCounters {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ctr
}

// newID draws a delivery identifier (a UUID) from the seeded generator.
func (d *dispatcher) newID() string {
	a, b := d.ids.Uint64(), d.ids.Uint64()
	a = (a &^ (0xf << 12)) | (4 << 12)   // version 4
	b = (b &^ (0x3 << 62)) | (0x2 << 62) // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// enqueue creates a delivery, due now or after the injected delay.
func (d *dispatcher) enqueue(url, secret string, body []byte, secondary bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.ctr.Queued++
	d.queue = append(d.queue, &delivery{id: d.newID(), url: url, secret: secret, body: body, secondary: secondary,
		due: d.now().Add(time.Duration(d.faults.WebhookDelayMS) * time.Millisecond)})
	d.notify()
}

// notify wakes the workers and tracks idleness; the caller holds d.mu.
func (d *dispatcher) notify() {
	d.trackIdle()
	for range d.workers {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// trackIdle opens or closes the idle channel; the caller holds d.mu.
func (d *dispatcher) trackIdle() {
	isIdle := len(d.queue) == 0 && d.inflight == 0
	select {
	case <-d.idle:
		if !isIdle {
			d.idle = make(chan struct{})
		}
	default:
		if isIdle {
			close(d.idle)
		}
	}
}

// takeBatch removes up to limit deliveries due at now (limit <= 0: all), in
// queue order, and applies the delivery faults in force: a delivery going
// out for the first time may be dropped or sent twice (same identifier),
// and a batch of several may be shuffled. It also returns when the next
// remaining delivery falls due. The caller holds d.mu.
func (d *dispatcher) takeBatch(now time.Time, limit int) ([]*delivery, time.Time) {
	var batch []*delivery
	var next time.Time
	rest := d.queue[:0]
	for _, dl := range d.queue {
		if !dl.due.After(now) && (limit <= 0 || len(batch) < limit) {
			batch = append(batch, dl)
			continue
		}
		rest = append(rest, dl)
		if next.IsZero() || dl.due.Before(next) {
			next = dl.due
		}
	}
	for i := len(rest); i < len(d.queue); i++ {
		d.queue[i] = nil
	}
	d.queue = rest
	f := d.faults
	out := make([]*delivery, 0, len(batch))
	for _, dl := range batch {
		if dl.retry > 0 {
			out = append(out, dl)
			continue
		}
		// Every fault is drawn for every first send, so one setting does
		// not shift the sequence another one sees.
		drop := d.rng.Float64() < f.WebhookDrop
		dup := d.rng.Float64() < f.WebhookDuplicate
		if drop {
			d.ctr.Dropped++
			continue
		}
		out = append(out, dl)
		if dup {
			d.ctr.Duplicated++
			cp := *dl
			out = append(out, &cp)
		}
	}
	if len(out) > 1 && d.rng.Float64() < f.WebhookReorder {
		d.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	}
	d.inflight += len(out)
	return out, next
}

// autoBatch bounds what one automatic worker takes at a time, so that
// several workers share a backlog.
const autoBatch = 16

func (d *dispatcher) work(ctx context.Context) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return
		}
		batch, next := d.takeBatch(d.now(), autoBatch)
		d.trackIdle() // a batch of only dropped deliveries may leave it idle
		d.mu.Unlock()
		for _, dl := range batch {
			status, err := d.send(ctx, dl)
			d.finish(dl, status, err)
		}
		if len(batch) > 0 {
			continue
		}
		var t *time.Timer
		var timer <-chan time.Time
		if !next.IsZero() {
			t = time.NewTimer(time.Until(next))
			timer = t.C
		}
		select {
		case <-d.wake:
		case <-timer:
		case <-ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
	}
}

// deliverDue sends everything due now, in queue order (unless the reorder
// fault shuffles it), and returns how many sends it attempted.
func (d *dispatcher) deliverDue(ctx context.Context) int {
	d.mu.Lock()
	batch, _ := d.takeBatch(d.now(), 0)
	d.trackIdle()
	d.mu.Unlock()
	for _, dl := range batch {
		status, err := d.send(ctx, dl)
		d.finish(dl, status, err)
	}
	return len(batch)
}

// send posts one delivery.
func (d *dispatcher) send(ctx context.Context, dl *delivery) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.url, bytes.NewReader(dl.body))
	if err != nil {
		return 0, fmt.Errorf("build webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Atlassian Webhook HTTP Client")
	if d.profile.identifiesWebhooks() {
		req.Header.Set("X-Atlassian-Webhook-Identifier", dl.id)
	}
	if d.profile.flowHeaders() {
		flow := "Primary"
		if dl.secondary {
			flow = "Secondary"
		}
		req.Header.Set("X-Atlassian-Webhook-Flow", flow)
	}
	if dl.retry > 0 {
		req.Header.Set("X-Atlassian-Webhook-Retry", strconv.Itoa(dl.retry))
	}
	if dl.secret != "" && d.profile.signsWebhooks() {
		req.Header.Set("X-Hub-Signature", Signature(dl.secret, dl.body))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("send webhook to %s: %w", dl.url, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// retryable reports whether Jira retries a delivery with this outcome.
func retryable(status int, err error) bool {
	if err != nil {
		return true
	}
	switch status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooEarly, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}

// finish books the outcome of a send and schedules a retry if needed.
func (d *dispatcher) finish(dl *delivery, status int, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inflight--
	switch {
	case err == nil && status >= 200 && status < 300:
		d.ctr.Delivered++
	case retryable(status, err) && dl.retry < maxRetries && !d.closed && d.profile.retriesWebhooks():
		dl.retry++
		dl.due = d.now().Add(d.base << (dl.retry - 1))
		d.queue = append(d.queue, dl)
		d.ctr.Retried++
	default:
		d.ctr.Failed++
		d.log("webhook delivery failed", "url", dl.url, "id", dl.id, "status", status, "err", err, "retries", dl.retry)
	}
	d.notify()
}

func (d *dispatcher) waitIdle(ctx context.Context) error {
	d.mu.Lock()
	ch := d.idle
	d.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for webhook deliveries: %w", ctx.Err())
	}
}

func (d *dispatcher) close() {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
}
