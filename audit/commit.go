package audit

import (
	"context"
	"sync"

	"github.com/transparency-dev/tessera"
)

// groupCommitter forms sequencing batches at the moment the previous batch
// is done, not on a timer: every append that arrived while a batch was being
// written and fsync'd goes into the next one. Tessera's own queue closes a
// batch when its age timer fires, so under load its batches stay as small as
// the arrivals in one timer period and queue behind each other (measured:
// 16 writers, 2 ms age, 3 entries a batch); a lone writer waits out the age
// for nothing. With the committer in front, Tessera's age only has to cover
// the loop that hands it one group (tens of µs), and a group of BatchMaxSize
// is flushed at once.
type groupCommitter struct {
	add   tessera.AddFn
	queue *appendQueue
	done  chan struct{}
}

type pendingAppend struct {
	ctx    context.Context
	entry  *tessera.Entry
	result chan appendResult // buffered: the committer never blocks on a caller that left
}

type appendResult struct {
	idx tessera.Index
	err error
}

func newGroupCommitter(add tessera.AddFn, max int) *groupCommitter {
	g := &groupCommitter{add: add, queue: newAppendQueue(max), done: make(chan struct{})}
	go g.run()
	return g
}

// submit queues an entry; false if the committer is closed.
func (g *groupCommitter) submit(p *pendingAppend) bool { return g.queue.push(p) }

// close stops taking entries and returns once every queued one is resolved.
func (g *groupCommitter) close() {
	g.queue.close()
	<-g.done
}

func (g *groupCommitter) run() {
	defer close(g.done)
	g.queue.groups(func(group []*pendingAppend) {
		futures := make([]tessera.IndexFuture, len(group))
		for i, p := range group {
			futures[i] = g.add(p.ctx, p.entry)
		}
		for i, p := range group {
			idx, err := futures[i]()
			p.result <- appendResult{idx, err}
		}
	})
}

// appendQueue is where appends wait for the next group commit: a group is
// whatever is pending (up to max) when the previous group is done.
type appendQueue struct {
	max  int
	wake chan struct{}

	mu      sync.Mutex
	pending []*pendingAppend
	closed  bool
}

func newAppendQueue(max int) *appendQueue {
	return &appendQueue{max: max, wake: make(chan struct{}, 1)}
}

// push queues an append; false if the queue is closed.
func (q *appendQueue) push(p *pendingAppend) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.pending = append(q.pending, p)
	q.mu.Unlock()
	q.signal()
	return true
}

// close stops taking appends; groups still drains what is queued.
func (q *appendQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *appendQueue) isClosed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}

func (q *appendQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// groups calls commit with each group as it forms, and returns once the
// queue is closed and empty. Appends whose caller gave up before their group
// formed are answered with that error and never committed.
func (q *appendQueue) groups(commit func([]*pendingAppend)) {
	for range q.wake {
		for {
			q.mu.Lock()
			n := min(len(q.pending), q.max)
			group := q.pending[:n:n]
			q.pending = q.pending[n:]
			closed := q.closed && len(q.pending) == 0
			q.mu.Unlock()
			if n == 0 {
				if closed {
					return
				}
				break
			}
			live := group[:0:0]
			for _, p := range group {
				if err := p.ctx.Err(); err != nil {
					p.result <- appendResult{err: err} // given up before it was committed: never logged
					continue
				}
				live = append(live, p)
			}
			if len(live) > 0 {
				commit(live)
			}
			if closed {
				return
			}
		}
	}
}
