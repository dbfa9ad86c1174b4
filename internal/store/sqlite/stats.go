package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// RunStats implements [store.Store.RunStats]: one walk of the creation
// index over the bounds, each run counted by [store.RunStatsTally].
func (s *Store) RunStats(ctx context.Context, p *store.RunStatsParams) ([]*store.RunDayStats, error) {
	var (
		where []string
		args  []any
	)
	if !p.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, sqlrow.UnixNano(p.Since))
	}
	if !p.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, sqlrow.UnixNano(p.Until))
	}
	q := `SELECT pipeline, status, created_at, started_at, finished_at FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: run stats: %w", err)
	}
	defer rows.Close()
	var tally store.RunStatsTally
	for rows.Next() {
		var (
			pipeline, status           string // not a RunStatus: no conversion by reflection for each row
			created, started, finished int64
		)
		if err := rows.Scan(&pipeline, &status, &created, &started, &finished); err != nil {
			return nil, fmt.Errorf("sqlite: run stats: %w", err)
		}
		tally.Add(pipeline, store.RunStatus(status), sqlrow.FromUnixNano(created), sqlrow.FromUnixNano(started), sqlrow.FromUnixNano(finished))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: run stats: %w", err)
	}
	return tally.Stats(), nil
}

// RunCount implements [store.Store.RunCount] from the status index.
func (s *Store) RunCount(ctx context.Context, statuses []store.RunStatus) (map[store.RunStatus]int, error) {
	if err := store.CheckRunStatuses(statuses); err != nil {
		return nil, fmt.Errorf("sqlite: count runs: %w", err)
	}
	if len(statuses) == 0 {
		statuses = store.AllRunStatuses()
	}
	out := make(map[store.RunStatus]int, len(statuses))
	args := make([]any, len(statuses))
	for i, st := range statuses {
		out[st], args[i] = 0, string(st)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT status, count(*) FROM runs
		WHERE status IN (`+strings.Repeat(", ?", len(statuses))[2:]+`) GROUP BY status`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: count runs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			st store.RunStatus
			n  int
		)
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count runs: %w", err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count runs: %w", err)
	}
	return out, nil
}
