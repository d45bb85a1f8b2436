package jirasync

import (
	"context"
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
		for i, q := range batch {
			dup, err := in.e.recordOne(ctx, tx, q)
			if err != nil {
				return err
			}
			results[i] = intakeRes{dup: dup}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for i, q := range batch {
			results[i] = in.single(ctx, q)
		}
	} else if err != nil {
		results[0] = intakeRes{err: err}
	}
	in.e.Notify()
	for i, q := range batch {
		q.done <- results[i]
	}
}

func (in *intake) single(ctx context.Context, q intakeReq) intakeRes {
	var res intakeRes
	err := in.e.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		res.dup, err = in.e.recordOne(ctx, tx, q)
		return err
	})
	res.err = err
	in.e.Notify()
	return res
}

func (in *intake) close() {
	in.once.Do(func() { close(in.stop) })
	<-in.stopped
}
