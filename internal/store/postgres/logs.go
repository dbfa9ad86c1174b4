package postgres

import (
	"context"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// LogAppend implements [store.Store.LogAppend]. Lines of an attempt that was
// never started are [store.ErrNotFound]. The attempt's byte counts change in
// the same transaction as its lines.
//
// Appends to one step queue on the step's row lock, so a step's lines are
// committed in the order of their sequence numbers: a reader that follows a
// log by [store.LogListParams.AfterSeq] never skips a line committed late
// under a smaller number. A batch's lines are numbered together.
func (s *Store) LogAppend(ctx context.Context, p *store.LogAppendParams) error {
	if len(p.Lines) == 0 && p.Dropped <= 0 {
		return nil
	}
	var (
		ts      = make([]int64, len(p.Lines))
		streams = make([]string, len(p.Lines))
		texts   = make([][]byte, len(p.Lines))
		n       int64
	)
	for i, l := range p.Lines {
		ts[i], streams[i], texts[i] = sqlrow.UnixNano(l.Time), l.Stream, textBytes(l.Text)
		n += int64(len(l.Text))
	}
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if !findable(p.RunID, p.Step) {
			return store.ErrNotFound
		}
		if err := fence(ctx, tx, p.RunID, p.Epoch, forShare); err != nil {
			return err
		}
		if err := lockStep(ctx, tx, p.RunID, p.Step); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE attempts SET log_bytes = log_bytes + $1,
			log_dropped = greatest(log_dropped, $2)
			WHERE run_id = $3 AND step = $4 AND attempt = $5`, n, p.Dropped, p.RunID, p.Step, p.Attempt)
		if err != nil {
			return err
		}
		if !affected(tag) {
			return store.ErrNotFound
		}
		if len(p.Lines) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO logs (run_id, step, attempt, ts, stream, text)
			SELECT $1, $2, $3, l.ts, l.stream, l.text
			FROM unnest($4::bigint[], $5::text[], $6::bytea[]) WITH ORDINALITY AS l (ts, stream, text, n)
			ORDER BY l.n`, p.RunID, p.Step, p.Attempt, ts, streams, texts)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: append logs of attempt %d of step %q of run %q: %w", p.Attempt, p.Step, p.RunID, err)
	}
	return nil
}

// LogList implements [store.Store.LogList]: lines of every attempt of the
// step, by sequence number.
func (s *Store) LogList(ctx context.Context, p *store.LogListParams) ([]*store.LogRow, error) {
	if !findable(p.RunID, p.Step) {
		return nil, nil
	}
	out, err := queryAll(ctx, s, func(sc pgx.Row) (*store.LogRow, error) {
		var (
			row  store.LogRow
			ts   int64
			text []byte
		)
		if err := sc.Scan(&row.Seq, &row.Attempt, &ts, &row.Stream, &text); err != nil {
			return nil, err
		}
		row.Time = sqlrow.FromUnixNano(ts)
		row.Text = string(text)
		return &row, nil
	}, `SELECT seq, attempt, ts, stream, text FROM logs
		WHERE run_id = $1 AND step = $2 AND seq > $3 ORDER BY seq LIMIT $4`,
		p.RunID, p.Step, p.AfterSeq, p.Max())
	if err != nil {
		return nil, fmt.Errorf("postgres: list logs of step %q of run %q: %w", p.Step, p.RunID, err)
	}
	return out, nil
}
