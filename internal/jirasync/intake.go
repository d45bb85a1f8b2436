package jirasync

import (
	"context"
	"strings"
	"sync"

	"github.com/vulnsync/vulnsync/internal/jirahook"
	"github.com/vulnsync/vulnsync/internal/store"
)

// maxIntakeBatch bounds how many deliveries share one transaction.
const maxIntakeBatch = 256

type intakeReq struct {
	d    store.Delivery
	ev   *jirahook.Event
	done chan intakeRes
}

type intakeRes struct {
	dup bool
	id  int64 // the delivery's id when a sync was queued for it
	err error
}

// intake records webhook deliveries with group commit: one goroutine takes
// every delivery waiting at that moment and records them in one
// transaction, so a burst costs one commit rather than one each. Nobody
// waits for a batch to fill: a lone delivery is committed at once. If a
// batch's transaction fails, its deliveries are retried one transaction
// each, so one bad delivery never costs the others their answer.
type intake struct {
	e       *Engine
	queue   chan intakeReq
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

func newIntake(e *Engine) *intake {
	in := &intake{e: e, queue: make(chan intakeReq, maxIntakeBatch), stop: make(chan struct{}), stopped: make(chan struct{})}
	go in.run()
	return in
}

// submit records a delivery and returns its outcome; after close it records
// it directly.
func (in *intake) submit(ctx context.Context, q intakeReq) intakeRes {
	q.done = make(chan intakeRes, 1)
	select {
	case in.queue <- q:
	case <-in.stopped:
		return in.single(ctx, q)
	case <-ctx.Done():
		return intakeRes{err: ctx.Err()}
	}
	select {
	case res := <-q.done:
		return res
	case <-ctx.Done():
		// The batch may still commit it; Jira retries and deduplication
		// makes the retry harmless.
		return intakeRes{err: ctx.Err()}
	}
}

func (in *intake) run() {
	defer close(in.stopped)
	for {
		var first intakeReq
		select {
		case first = <-in.queue:
		case <-in.stop:
			return
		}
		batch := []intakeReq{first}
	drain:
		for len(batch) < maxIntakeBatch {
			select {
			case q := <-in.queue:
				batch = append(batch, q)
			default:
				break drain
			}
		}
		in.record(batch)
	}
}

func (in *intake) record(batch []intakeReq) {
	ctx := context.Background()
	results := make([]intakeRes, len(batch))
	err := in.e.st.InTx(ctx, func(tx store.Tx) error {
		var b intakeTx
		for i, q := range batch {
			dup, id, err := in.e.recordOne(ctx, tx, q, &b)
			if err != nil {
				return err
			}
			results[i] = intakeRes{dup: dup, id: id}
		}
		return b.flush(ctx, tx)
	})
	if err != nil && len(batch) > 1 {
		for i, q := range batch {
			results[i] = in.single(ctx, q)
		}
	} else if err != nil {
		results[0] = intakeRes{err: err}
	}
	for i, q := range batch {
		in.handOver(results[i], q)
	}
	in.e.Notify()
	for i, q := range batch {
		q.done <- results[i]
	}
}

func (in *intake) single(ctx context.Context, q intakeReq) intakeRes {
	var res intakeRes
	err := in.e.st.InTx(ctx, func(tx store.Tx) error {
		var b intakeTx
		var err error
		if res.dup, res.id, err = in.e.recordOne(ctx, tx, q, &b); err != nil {
			return err
		}
		return b.flush(ctx, tx)
	})
	res.err = err
	in.handOver(res, q)
	in.e.Notify()
	return res
}

func (in *intake) close() {
	in.once.Do(func() { close(in.stop) })
	<-in.stopped
}

// handOver gives the parsed event of a committed, queued delivery to the
// job that applies it, so the body is parsed once.
func (in *intake) handOver(res intakeRes, q intakeReq) {
	if res.err == nil && res.id != 0 && q.ev != nil && !strings.HasPrefix(q.d.Event, noticePrefix) {
		in.e.parsed.put(res.id, q.ev)
	}
}

// maxParsed bounds the parsed events kept for their jobs; past it the
// oldest is forgotten (its job, if it still runs here, parses the stored
// body again). An event whose delivery another replica applies is never
// taken, so the bound also keeps those from piling up.
const maxParsed = 256

// parsedEvents hands parsed webhook events from the receiver to the sync
// job of the same process, by delivery id.
type parsedEvents struct {
	mu    sync.Mutex
	m     map[int64]*jirahook.Event
	order []int64 // ids in the order put, oldest first
}

func (p *parsedEvents) put(id int64, ev *jirahook.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[int64]*jirahook.Event{}
	}
	for len(p.order) > 0 && len(p.m) >= maxParsed {
		delete(p.m, p.order[0])
		p.order = p.order[1:]
	}
	p.m[id] = ev
	p.order = append(p.order, id)
	if len(p.order) > 2*maxParsed { // drop the ids already taken
		kept := p.order[:0]
		for _, k := range p.order {
			if _, ok := p.m[k]; ok {
				kept = append(kept, k)
			}
		}
		p.order = kept
	}
}

// take returns and forgets the event of a delivery (nil when this process
// did not receive it, or before a restart).
func (p *parsedEvents) take(id int64) *jirahook.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	ev := p.m[id]
	delete(p.m, id)
	if len(p.m) == 0 {
		p.order = p.order[:0]
	}
	return ev
}
