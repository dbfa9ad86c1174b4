package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

// PipelinePut implements [store.Store.PipelinePut]. The first revision is 1.
func (s *Store) PipelinePut(ctx context.Context, p *store.PipelinePutParams) (*store.PipelineRow, error) {
	var row *store.PipelineRow
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		latest, err := scanPipeline(tx.QueryRowContext(ctx, `SELECT name, revision, spec, created_at
			FROM pipelines WHERE name = ? AND deleted_at = 0 ORDER BY revision DESC LIMIT 1`, p.Name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			latest = &store.PipelineRow{}
		case err != nil:
			return err
		case bytes.Equal(latest.Spec, p.Spec):
			row = latest
			return nil
		}
		next, err := nextRevision(ctx, tx, p.Name)
		if err != nil {
			return err
		}
		row = sqlrow.NewPipeline(p, next)
		_, err = tx.ExecContext(ctx, `INSERT INTO pipelines (name, revision, spec, created_at)
			VALUES (?, ?, ?, ?)`, row.Name, row.Revision, row.Spec, sqlrow.UnixNano(p.Now))
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: put pipeline %q: %w", p.Name, err)
	}
	return row, nil
}

// PipelineGet implements [store.Store.PipelineGet].
func (s *Store) PipelineGet(ctx context.Context, name string, revision int) (*store.PipelineRow, error) {
	var r *sql.Row
	if revision == 0 {
		r = s.r.QueryRowContext(ctx, `SELECT name, revision, spec, created_at
			FROM pipelines WHERE name = ? AND deleted_at = 0 ORDER BY revision DESC LIMIT 1`, name)
	} else {
		r = s.r.QueryRowContext(ctx, `SELECT name, revision, spec, created_at
			FROM pipelines WHERE name = ? AND revision = ?`, name, revision)
	}
	row, err := scanPipeline(r)
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		if revision == 0 {
			return nil, fmt.Errorf("sqlite: pipeline %q: %w", name, err)
		}
		return nil, fmt.Errorf("sqlite: pipeline %q revision %d: %w", name, revision, err)
	}
	return row, nil
}

// PipelineList implements [store.Store.PipelineList].
func (s *Store) PipelineList(ctx context.Context) ([]*store.PipelineRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT p.name, p.revision, p.spec, p.created_at
		FROM pipelines p
		WHERE p.revision = (SELECT max(revision) FROM pipelines WHERE name = p.name) AND p.deleted_at = 0
		ORDER BY p.name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list pipelines: %w", err)
	}
	defer rows.Close()
	var out []*store.PipelineRow
	for rows.Next() {
		row, err := scanPipeline(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list pipelines: %w", err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list pipelines: %w", err)
	}
	return out, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

func scanPipeline(sc scanner) (*store.PipelineRow, error) {
	var (
		row     store.PipelineRow
		created int64
	)
	if err := sc.Scan(&row.Name, &row.Revision, &row.Spec, &created); err != nil {
		return nil, err
	}
	if row.Spec == nil {
		row.Spec = []byte{}
	}
	row.CreatedAt = sqlrow.FromUnixNano(created)
	return &row, nil
}
