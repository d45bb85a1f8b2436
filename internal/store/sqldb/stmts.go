package sqldb

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache: queries built with a varying
// number of placeholders (IN lists) are not worth keeping beyond it.
const maxCachedStmts = 512

// stmtCache keeps one prepared statement per query text of a pool, so
// SQLite parses a query once per connection instead of on every call
// (parsing was a fifth of the webhook intake's CPU). A query is prepared
// after the transaction that first ran it has ended: the SQLite writer
// pool has a single connection, which that transaction holds. Later
// transactions use the statement through Tx.StmtContext, which reuses what
// is already prepared on their connection. PostgreSQL needs none of this:
// pgx caches prepared statements per connection itself.
type stmtCache struct {
	pool   *sql.DB
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	wanted map[string]struct{}
}

func newStmtCache(pool *sql.DB) *stmtCache {
	return &stmtCache{pool: pool, stmts: map[string]*sql.Stmt{}, wanted: map[string]struct{}{}}
}

// lookup returns the prepared statement of q, or nil — then q is noted so
// that it is prepared once the current transaction ended.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok {
		return st
	}
	if len(c.stmts)+len(c.wanted) < maxCachedStmts {
		c.wanted[q] = struct{}{}
	}
	return nil
}

// prepareWanted prepares the queries noted since the last call. It runs
// outside any transaction of the pool's caller.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	qs := make([]string, 0, len(c.wanted))
	for q := range c.wanted {
		qs = append(qs, q)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, q := range qs {
		st, err := c.pool.PrepareContext(ctx, q)
		if err != nil {
			continue // the query still runs unprepared
		}
		c.mu.Lock()
		if _, ok := c.stmts[q]; ok {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}
