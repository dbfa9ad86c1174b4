package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// LogAppend implements [store.Store.LogAppend]. Lines of an attempt that was
// never started are [store.ErrNotFound]. The attempt's byte counts change in
// the same transaction as its lines.
func (s *Store) LogAppend(ctx context.Context, p *store.LogAppendParams) error {
	if len(p.Lines) == 0 && p.Dropped <= 0 {
		return nil
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := fence(ctx, tx, p.RunID, p.Epoch); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO logs (run_id, step, attempt, ts, stream, text)
			VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		var n int64
		for _, l := range p.Lines {
			if _, err := stmt.ExecContext(ctx, p.RunID, p.Step, p.Attempt, sqlrow.UnixNano(l.Time), l.Stream, l.Text); err != nil {
				return mapErr(err)
			}
			n += int64(len(l.Text))
		}
		res, err := tx.ExecContext(ctx, `UPDATE attempts SET log_bytes = log_bytes + ?,
			log_dropped = max(log_dropped, ?)
			WHERE run_id = ? AND step = ? AND attempt = ?`, n, p.Dropped, p.RunID, p.Step, p.Attempt)
		if err != nil {
			return err
		}
		ok, err := affected(res)
		if err == nil && !ok {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: append logs of attempt %d of step %q of run %q: %w", p.Attempt, p.Step, p.RunID, err)
	}
	return nil
}

// LogList implements [store.Store.LogList]: lines of every attempt of the
// step, by sequence number.
func (s *Store) LogList(ctx context.Context, p *store.LogListParams) ([]*store.LogRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, attempt, ts, stream, text FROM logs
		WHERE run_id = ? AND step = ? AND seq > ? ORDER BY seq LIMIT ?`,
		p.RunID, p.Step, p.AfterSeq, p.Max())
	if err != nil {
		return nil, fmt.Errorf("sqlite: list logs of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	defer rows.Close()
	var out []*store.LogRow
	for rows.Next() {
		var (
			row store.LogRow
			ts  int64
		)
		if err := rows.Scan(&row.Seq, &row.Attempt, &ts, &row.Stream, &row.Text); err != nil {
			return nil, fmt.Errorf("sqlite: list logs of step %q of run %q: %w", p.Step, p.RunID, err)
		}
		row.Time = sqlrow.FromUnixNano(ts)
		out = append(out, &row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list logs of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	return out, nil
}
