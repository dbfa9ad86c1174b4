package postgres

import (
	"context"
	"fmt"
	"strconv"
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
		args = append(args, sqlrow.UnixNano(p.Since))
		where = append(where, "created_at >= $"+strconv.Itoa(len(args)))
	}
	if !p.Until.IsZero() {
		args = append(args, sqlrow.UnixNano(p.Until))
		where = append(where, "created_at < $"+strconv.Itoa(len(args)))
	}
	q := `SELECT pipeline, status, created_at, started_at, finished_at FROM runs`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	var tally store.RunStatsTally
	err := s.read(ctx, func() error {
		tally = store.RunStatsTally{} // afresh on each try
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			pipeline, status           string // not a RunStatus: no conversion by reflection for each row
			created, started, finished int64
		)
		for rows.Next() {
			if err := rows.Scan(&pipeline, &status, &created, &started, &finished); err != nil {
				return err
			}
			tally.Add(pipeline, store.RunStatus(status), sqlrow.FromUnixNano(created), sqlrow.FromUnixNano(started), sqlrow.FromUnixNano(finished))
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: run stats: %w", err)
	}
	return tally.Stats(), nil
}

// RunCount implements [store.Store.RunCount] from the status index.
func (s *Store) RunCount(ctx context.Context, statuses []store.RunStatus) (map[store.RunStatus]int, error) {
	if err := store.CheckRunStatuses(statuses); err != nil {
		return nil, fmt.Errorf("postgres: count runs: %w", err)
	}
	if len(statuses) == 0 {
		statuses = store.AllRunStatuses()
	}
	names := make([]string, len(statuses))
	for i, st := range statuses {
		names[i] = string(st)
	}
	var out map[store.RunStatus]int
	err := s.read(ctx, func() error {
		out = make(map[store.RunStatus]int, len(statuses))
		for _, st := range statuses {
			out[st] = 0
		}
		rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM runs WHERE status = ANY($1) GROUP BY status`, names)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				st store.RunStatus
				n  int64
			)
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			out[st] = int(n)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: count runs: %w", err)
	}
	return out, nil
}
