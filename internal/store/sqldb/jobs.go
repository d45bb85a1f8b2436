package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

const jobCols = `id, kind, job_key, payload, state, attempts, run_at, last_error, lease_token, leased_till, created_at, updated_at`

func scanJob(s interface{ Scan(...any) error }) (store.Job, error) {
	var j store.Job
	var payload []byte
	var state string
	err := s.Scan(&j.ID, &j.Kind, &j.Key, &payload, &state, &j.Attempts, timeCol{&j.RunAt}, &j.LastError,
		&j.LeaseToken, timeCol{&j.LeasedTill}, timeCol{&j.CreatedAt}, timeCol{&j.UpdatedAt})
	if payload != nil {
		j.Payload = json.RawMessage(payload)
	}
	j.State = store.JobState(state)
	return j, err
}

func (t *tx) scanJobs(rows *sql.Rows, what string) ([]store.Job, error) {
	defer rows.Close()
	out := []store.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, wrap(what, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(what, err)
	}
	return out, nil
}

// Enqueue adds a pending job, or coalesces it into the pending job of the
// same (Kind, Key): that job keeps its id, attempts, last error and the
// earlier of the two RunAt values, and takes the new payload. A zero RunAt
// means now. State, Attempts, LeaseToken and the bookkeeping times of j are
// ignored.
func (t *tx) Enqueue(ctx context.Context, j store.Job) error {
	switch {
	case j.Kind == "" || len(j.Kind) > 64:
		return invalid("job kind must be 1 to 64 characters")
	case j.Key == "" || len(j.Key) > 256:
		return invalid("job key must be 1 to 256 characters")
	case len(j.Payload) > store.MaxJobPayloadBytes:
		return tracker.Errorf(tracker.ETooLarge, "job payload is %d bytes; the limit is %d", len(j.Payload), store.MaxJobPayloadBytes)
	case len(j.Payload) > 0 && !json.Valid(j.Payload):
		return invalid("job payload is not valid JSON")
	}
	var payload any
	if len(j.Payload) > 0 {
		payload = string(j.Payload)
	}
	now := tracker.Truncate(t.now())
	runAt := now
	if !j.RunAt.IsZero() {
		runAt = tracker.Truncate(j.RunAt)
	}
	_, err := t.exec(ctx, `INSERT INTO jobs (kind, job_key, payload, state, attempts, run_at, last_error, lease_token, created_at, updated_at)
		VALUES (?, ?, ?, 'pending', 0, ?, '', '', ?, ?)
		ON CONFLICT (kind, job_key) WHERE state = 'pending' DO UPDATE SET
			payload = excluded.payload,
			run_at = CASE WHEN excluded.run_at < jobs.run_at THEN excluded.run_at ELSE jobs.run_at END,
			updated_at = excluded.updated_at`,
		j.Kind, j.Key, payload, t.d.ts(runAt), t.d.ts(now), t.d.ts(now))
	if err != nil {
		return wrap("enqueue job", err)
	}
	return nil
}

// kindFilter returns " AND <col> IN (?, ...)" and its arguments, or nothing
// for all kinds.
func kindFilter(col string, kinds []string) (string, []any) {
	if len(kinds) == 0 {
		return "", nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = k
	}
	return " AND " + col + " IN (" + placeholders(len(kinds)) + ")", args
}

// expiredQuery finds running jobs whose lease ended before its first
// argument (then the kinds of kindFilter, then a limit).
func expiredQuery(d *dialect, kindFilter string) string {
	return `SELECT id FROM jobs WHERE state = 'running' AND leased_till < ?` + kindFilter +
		` ORDER BY leased_till, id LIMIT ?` + d.skipLocked
}

// dueQuery finds pending jobs due at its first argument whose (kind, key)
// has no running job (then the kinds of kindFilter on alias j, then a
// limit). Both the scan (jobs_pending_due) and the exclusion check
// (jobs_running_key) use partial indexes, so done jobs never slow it down.
func dueQuery(d *dialect, kindFilter string) string {
	lock := ""
	if d.skipLocked != "" {
		lock = " FOR UPDATE OF j SKIP LOCKED"
	}
	return `SELECT j.id FROM jobs j WHERE j.state = 'pending' AND j.run_at <= ?` + kindFilter + `
		AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.state = 'running' AND r.kind = j.kind AND r.job_key = j.job_key)
		ORDER BY j.run_at, j.id LIMIT ?` + lock
}

// ClaimJobs leases up to c.Limit jobs: first running jobs whose lease
// expired before c.Now (taken over), then due pending jobs whose (kind, key)
// has no running job at all (an expired one is taken over first, the pending
// one waits for it). On PostgreSQL the candidate rows are locked with FOR
// UPDATE SKIP LOCKED, so concurrent claimers on several replicas never take
// the same row; on SQLite the write transaction excludes other claimers.
func (t *tx) ClaimJobs(ctx context.Context, c store.Claim) ([]store.Job, error) {
	switch {
	case c.Now.IsZero():
		return nil, invalid("claim needs the current time")
	case c.Lease <= 0:
		return nil, invalid("claim needs a positive lease")
	case c.Limit <= 0 || c.Limit > store.MaxClaim:
		return nil, invalid("claim limit must be 1 to %d", store.MaxClaim)
	}
	now := t.d.ts(c.Now)
	till := t.d.ts(c.Now.Add(c.Lease))
	stamp := t.d.ts(t.now())

	var ids []int64
	collect := func(q string, args ...any) error {
		rows, err := t.query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	}

	kf, kargs := kindFilter("kind", c.Kinds)
	args := append([]any{now}, kargs...)
	args = append(args, c.Limit)
	if err := collect(expiredQuery(t.d, kf), args...); err != nil {
		return nil, wrap("claim jobs: find expired leases", err)
	}
	if left := c.Limit - len(ids); left > 0 {
		kf, kargs := kindFilter("j.kind", c.Kinds)
		args := append([]any{now}, kargs...)
		args = append(args, left)
		if err := collect(dueQuery(t.d, kf), args...); err != nil {
			return nil, wrap("claim jobs: find due jobs", err)
		}
	}

	out := make([]store.Job, 0, len(ids))
	for _, id := range ids {
		j, err := scanJob(t.queryRow(ctx, `UPDATE jobs SET state = 'running', lease_token = ?, leased_till = ?, attempts = attempts + 1, updated_at = ?
			WHERE id = ? RETURNING `+jobCols, rand.Text(), till, stamp, id))
		if err != nil {
			return nil, wrap("claim jobs: lease", err)
		}
		out = append(out, j)
	}
	return out, nil
}

// leased locks job id for a change and checks that the caller holds its
// lease: ENotFound for an unknown job, EConflict when the job is not running
// or another lease (a takeover) replaced token. It returns the job's kind and
// key.
func (t *tx) leased(ctx context.Context, what string, id int64, token string) (kind, key string, err error) {
	if token == "" {
		return "", "", invalid("%s: a lease token is required", what)
	}
	var state, current string
	err = t.queryRow(ctx, `SELECT kind, job_key, state, lease_token FROM jobs WHERE id = ?`+t.d.lockRows, id).
		Scan(&kind, &key, &state, &current)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", notFound("job %d not found", id)
	}
	if err != nil {
		return "", "", wrap(what, err)
	}
	if state != string(store.JobRunning) || current != token {
		return "", "", conflict("job %d is no longer leased with this token (it is %s; its lease may have been taken over)", id, state)
	}
	return kind, key, nil
}

// truncateError keeps a job's last error within store.MaxJobErrorBytes, cut
// on a character boundary.
func truncateError(s string) string {
	if len(s) <= store.MaxJobErrorBytes {
		return s
	}
	cut := store.MaxJobErrorBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// CompleteJob marks a leased job done. Done jobs are kept: they back the
// sync log.
func (t *tx) CompleteJob(ctx context.Context, id int64, leaseToken string) error {
	if _, _, err := t.leased(ctx, "complete job", id, leaseToken); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE jobs SET state = 'done', lease_token = '', leased_till = NULL, updated_at = ? WHERE id = ?`,
		t.d.ts(t.now()), id)
	return wrap("complete job", err)
}

// FailJob marks a leased job failed for good, with its error.
func (t *tx) FailJob(ctx context.Context, id int64, leaseToken string, lastErr string) error {
	if _, _, err := t.leased(ctx, "fail job", id, leaseToken); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE jobs SET state = 'failed', last_error = ?, lease_token = '', leased_till = NULL, updated_at = ? WHERE id = ?`,
		truncateError(lastErr), t.d.ts(t.now()), id)
	return wrap("fail job", err)
}

// ExtendJobLease moves a leased job's lease to till. The token check is
// leased's (the row locked first), so a job taken over after its lease
// expired is never extended by the runner that lost it.
func (t *tx) ExtendJobLease(ctx context.Context, id int64, leaseToken string, till time.Time) error {
	if till.IsZero() {
		return invalid("extend job %d: a lease end is required", id)
	}
	if _, _, err := t.leased(ctx, "extend job lease", id, leaseToken); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE jobs SET leased_till = ?, updated_at = ? WHERE id = ?`,
		t.d.ts(tracker.Truncate(till)), t.d.ts(t.now()), id)
	return wrap("extend job lease", err)
}

// RetryJob puts a leased job back to pending at runAt with its error. If a
// newer job of the same (kind, key) was enqueued meanwhile, the two coalesce
// as Enqueue does: this job (keeping its id and attempts) takes the newer
// payload and the earlier run time, and the newer row goes away.
func (t *tx) RetryJob(ctx context.Context, id int64, leaseToken string, runAt time.Time, lastErr string) error {
	return t.requeue(ctx, id, leaseToken, runAt, lastErr, false)
}

// SnoozeJob puts a leased job back to wait until runAt without spending
// an attempt: the claim that leased it is taken back.
func (t *tx) SnoozeJob(ctx context.Context, id int64, leaseToken string, runAt time.Time, reason string) error {
	return t.requeue(ctx, id, leaseToken, runAt, reason, true)
}

// requeue ends a lease with the job pending again at runAt, coalesced with
// a newer pending job of its key; snooze gives the attempt back.
func (t *tx) requeue(ctx context.Context, id int64, leaseToken string, runAt time.Time, lastErr string, snooze bool) error {
	if runAt.IsZero() {
		return invalid("retry job %d: a run time is required", id)
	}
	kind, key, err := t.leased(ctx, "retry job", id, leaseToken)
	if err != nil {
		return err
	}
	at := tracker.Truncate(runAt)
	payloadSet := ""
	var args []any
	var newer struct {
		id      int64
		payload []byte
		runAt   time.Time
	}
	err = t.queryRow(ctx, `SELECT id, payload, run_at FROM jobs WHERE kind = ? AND job_key = ? AND state = 'pending'`+t.d.lockRows, kind, key).
		Scan(&newer.id, &newer.payload, timeCol{&newer.runAt})
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return wrap("retry job: find pending job", err)
	default:
		if _, err := t.exec(ctx, `DELETE FROM jobs WHERE id = ?`, newer.id); err != nil {
			return wrap("retry job: coalesce", err)
		}
		if newer.runAt.Before(at) {
			at = newer.runAt
		}
		payloadSet = "payload = ?, "
		var p any
		if newer.payload != nil {
			p = string(newer.payload)
		}
		args = append(args, p)
	}
	attempts := ""
	if snooze {
		attempts = "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, "
	}
	args = append(args, t.d.ts(at), truncateError(lastErr), t.d.ts(t.now()), id)
	_, err = t.exec(ctx, `UPDATE jobs SET `+payloadSet+attempts+`state = 'pending', run_at = ?, last_error = ?, lease_token = '', leased_till = NULL, updated_at = ? WHERE id = ?`, args...)
	if err != nil {
		if constraint(err) == "unique" {
			// A job of this key was enqueued by a transaction that
			// committed after our look-up: run again to coalesce with it.
			return &retryError{err: wrap("retry job", err)}
		}
		return wrap("retry job", err)
	}
	return nil
}

// ListJobs returns jobs, newest first, filtered by kind, key and state.
func (t *tx) ListJobs(ctx context.Context, f store.JobFilter) ([]store.Job, error) {
	limit, err := pageSize(f.Limit)
	if err != nil {
		return nil, err
	}
	switch f.State {
	case "", store.JobPending, store.JobRunning, store.JobDone, store.JobFailed:
	default:
		return nil, invalid("unknown job state %q (allowed: pending, running, done, failed)", f.State)
	}
	var where []string
	var args []any
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	if f.Key != "" {
		where = append(where, "job_key = ?")
		args = append(args, f.Key)
	}
	if f.State != "" {
		// A literal (the state is one of four, checked above): only then
		// can the partial indexes over one state (jobs_failed, the
		// pending ones) answer.
		where = append(where, "state = '"+string(f.State)+"'")
	}
	q := `SELECT ` + jobCols + ` FROM jobs`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list jobs", err)
	}
	return t.scanJobs(rows, "list jobs")
}

// GetJob returns one job.
func (t *tx) GetJob(ctx context.Context, id int64) (store.Job, error) {
	j, err := scanJob(t.queryRow(ctx, `SELECT `+jobCols+` FROM jobs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, notFound("job %d not found", id)
	}
	if err != nil {
		return store.Job{}, wrap("get job", err)
	}
	return j, nil
}

// RequeueJob retries a failed job by hand: it becomes pending at now with
// no attempts, its last error kept. If a pending job of the same (kind, key)
// exists, the failed job is merged into that one instead, as Enqueue
// coalesces: the pending job keeps its id and payload (it is the newer
// work), takes the earlier of its run time and now, starts again from no
// attempts, and keeps its own last error or else takes the failed one's;
// the failed row is removed. The job that will run is returned.
func (t *tx) RequeueJob(ctx context.Context, id int64, now time.Time) (store.Job, error) {
	if now.IsZero() {
		return store.Job{}, invalid("requeue job %d: the current time is required", id)
	}
	const op = "requeue job"
	var kind, key, state, lastErr string
	err := t.queryRow(ctx, `SELECT kind, job_key, state, last_error FROM jobs WHERE id = ?`+t.d.lockRows, id).Scan(&kind, &key, &state, &lastErr)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, notFound("job %d not found", id)
	}
	if err != nil {
		return store.Job{}, wrap(op, err)
	}
	if state != string(store.JobFailed) {
		return store.Job{}, conflict("job %d is %s, only failed jobs can be retried", id, state)
	}
	at := t.d.ts(now)
	stamp := t.d.ts(t.now())
	var pendingID int64
	err = t.queryRow(ctx, `SELECT id FROM jobs WHERE kind = ? AND job_key = ? AND state = 'pending'`+t.d.lockRows, kind, key).Scan(&pendingID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		j, err := scanJob(t.queryRow(ctx, `UPDATE jobs SET state = 'pending', run_at = ?, attempts = 0, lease_token = '', leased_till = NULL, updated_at = ?
			WHERE id = ? RETURNING `+jobCols, at, stamp, id))
		if err != nil {
			if constraint(err) == "unique" {
				// A job of this key was enqueued by a transaction that
				// committed after our look-up: run again to merge.
				return store.Job{}, &retryError{err: wrap(op, err)}
			}
			return store.Job{}, wrap(op, err)
		}
		return j, nil
	case err != nil:
		return store.Job{}, wrap(op+": find pending job", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM jobs WHERE id = ?`, id); err != nil {
		return store.Job{}, wrap(op+": merge", err)
	}
	j, err := scanJob(t.queryRow(ctx, `UPDATE jobs SET run_at = CASE WHEN run_at < ? THEN run_at ELSE ? END, attempts = 0,
			last_error = CASE WHEN last_error = '' THEN ? ELSE last_error END, updated_at = ?
		WHERE id = ? RETURNING `+jobCols, at, at, lastErr, stamp, pendingID))
	if err != nil {
		return store.Job{}, wrap(op+": merge", err)
	}
	return j, nil
}
