package sqldb

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// dialect is what differs between SQLite and PostgreSQL for the queries of
// this package, which are all written once with '?' placeholders.
type dialect struct {
	name string
	// dollar rewrites '?' into $1, $2, ... (PostgreSQL).
	dollar bool
	// writeTx and readTx are the options InTx and View begin with. On
	// SQLite the writer's DSN makes every write transaction BEGIN
	// IMMEDIATE; a read-only one is a plain deferred BEGIN.
	writeTx, readTx *sql.TxOptions
	// lockRows is appended to a SELECT whose rows the transaction is about
	// to change (" FOR UPDATE" on PostgreSQL; nothing on SQLite, where the
	// write transaction already excludes every other writer).
	lockRows string
	// skipLocked is appended to the job claim queries: rows another
	// transaction is claiming are skipped rather than waited for.
	skipLocked string
	// integerTimes stores times as unix microseconds (SQLite) rather than
	// passing time.Time to the driver (timestamptz).
	integerTimes bool
	rebound      *sync.Map // query with '?' -> query with $n
}

func sqliteDialect() dialect {
	return dialect{
		name:         "sqlite",
		writeTx:      nil,
		readTx:       &sql.TxOptions{ReadOnly: true},
		integerTimes: true,
		rebound:      &sync.Map{},
	}
}

func postgresDialect() dialect {
	return dialect{
		name:       "postgres",
		dollar:     true,
		writeTx:    &sql.TxOptions{Isolation: sql.LevelReadCommitted},
		readTx:     &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true},
		lockRows:   " FOR UPDATE",
		skipLocked: " FOR UPDATE SKIP LOCKED",
		rebound:    &sync.Map{},
	}
}

// rebind turns the '?' placeholders of q into the dialect's style. The
// queries of this package hold no '?' inside string literals.
func (d *dialect) rebind(q string) string {
	if !d.dollar {
		return q
	}
	if v, ok := d.rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	d.rebound.Store(q, out)
	return out
}

// ts encodes a time for a NOT NULL column, at the precision every store
// keeps (tracker.Truncate).
func (d *dialect) ts(t time.Time) any {
	t = tracker.Truncate(t)
	if d.integerTimes {
		return t.UnixMicro()
	}
	return t
}

// nullTS encodes a time for a nullable column: the zero time is NULL.
func (d *dialect) nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.ts(t)
}

// timeCol scans either encoding of a time (unix microseconds or timestamptz)
// into a UTC time.Time; NULL becomes the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("scan time: unsupported column value %T", src)
	}
	return nil
}

// placeholders returns "?, ?, ..." with n marks, for IN lists.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
