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
// X-Atlassian-Webhook-Identifier (stable across retries), retried on 408,
// 409, 425, 429, 5xx and timeouts with exponential backoff, up to 5 retries;
// and with the injected drop/duplicate/delay/reorder faults.

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
	ctx     context.Context
	cancel  context.CancelFunc
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
		log:     s.log.Warn,
		ctx:     ctx,
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
			go d.work()
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

// enqueue creates a delivery, applying drop/duplicate/delay/reorder.
func (d *dispatcher) enqueue(url, secret string, body []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	f := d.faults
	// Draw every fault for every delivery, so one setting does not shift
	// the sequence another one sees.
	drop := d.rng.Float64() < f.WebhookDrop
	dup := d.rng.Float64() < f.WebhookDuplicate
	reorder := d.rng.Float64() < f.WebhookReorder
	d.ctr.Queued++
	if drop {
		d.ctr.Dropped++
		return
	}
	dl := &delivery{id: d.newID(), url: url, secret: secret, body: body,
		due: d.now().Add(time.Duration(f.WebhookDelayMS) * time.Millisecond)}
	d.push(dl, reorder)
	if dup {
		d.ctr.Duplicated++
		cp := *dl
		d.push(&cp, false)
	}
	d.notify()
}

// push adds a delivery to the queue, ahead of the last queued one when
// reorder is set; the caller holds d.mu.
func (d *dispatcher) push(dl *delivery, reorder bool) {
	if reorder && len(d.queue) > 0 {
		last := d.queue[len(d.queue)-1]
		d.queue[len(d.queue)-1] = dl
		d.queue = append(d.queue, last)
	} else {
		d.queue = append(d.queue, dl)
	}
}

// notify wakes workers and tracks idleness; the caller holds d.mu.
func (d *dispatcher) notify() {
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
	for range d.workers {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

// takeDue removes and returns the first delivery due at now, or the time
// the next one falls due; the caller holds d.mu.
func (d *dispatcher) takeDue(now time.Time) (*delivery, time.Time) {
	var next time.Time
	for i, dl := range d.queue {
		if !dl.due.After(now) {
			d.queue = append(d.queue[:i:i], d.queue[i+1:]...)
			d.inflight++
			return dl, time.Time{}
		}
		if next.IsZero() || dl.due.Before(next) {
			next = dl.due
		}
	}
	return nil, next
}

func (d *dispatcher) work() {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			return
		}
		dl, next := d.takeDue(d.now())
		d.mu.Unlock()
		if dl != nil {
			status, err := d.send(d.ctx, dl)
			d.finish(dl, status, err)
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
		case <-d.ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
	}
}

// deliverDue sends everything due now, in queue order, and returns how
// many sends it attempted.
func (d *dispatcher) deliverDue(ctx context.Context) int {
	d.mu.Lock()
	now := d.now()
	var batch []*delivery
	for {
		dl, _ := d.takeDue(now)
		if dl == nil {
			break
		}
		batch = append(batch, dl)
	}
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
	req.Header.Set("X-Atlassian-Webhook-Identifier", dl.id)
	if dl.retry == 0 {
		req.Header.Set("X-Atlassian-Webhook-Flow", "Primary")
	} else {
		req.Header.Set("X-Atlassian-Webhook-Flow", "Retry")
		req.Header.Set("X-Atlassian-Webhook-Retry", strconv.Itoa(dl.retry))
	}
	if dl.secret != "" {
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
	case retryable(status, err) && dl.retry < maxRetries && !d.closed:
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
