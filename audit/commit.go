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
	add  tessera.AddFn
	max  int
	wake chan struct{}
	done chan struct{}

	mu      sync.Mutex
	pending []*pendingAppend
	closed  bool
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
	g := &groupCommitter{add: add, max: max, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go g.run()
	return g
}

// submit queues an entry; false if the committer is closed.
func (g *groupCommitter) submit(p *pendingAppend) bool {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	g.pending = append(g.pending, p)
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	return true
}

// close stops taking entries and returns once every queued one is resolved.
func (g *groupCommitter) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
	<-g.done
}

func (g *groupCommitter) run() {
	defer close(g.done)
	for range g.wake {
		for {
			g.mu.Lock()
			n := min(len(g.pending), g.max)
			group := g.pending[:n:n]
			g.pending = g.pending[n:]
			closed := g.closed && len(g.pending) == 0
			g.mu.Unlock()
			if n == 0 {
				if closed {
					return
				}
				break
			}
			futures := make([]tessera.IndexFuture, len(group))
			for i, p := range group {
				if err := p.ctx.Err(); err != nil {
					continue // given up before sequencing: never logged
				}
				futures[i] = g.add(p.ctx, p.entry)
			}
			for i, p := range group {
				if futures[i] == nil {
					p.result <- appendResult{err: p.ctx.Err()}
					continue
				}
				idx, err := futures[i]()
				p.result <- appendResult{idx, err}
			}
			if closed {
				return
			}
		}
	}
}
