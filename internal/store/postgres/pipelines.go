package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
	"github.com/jackc/pgx/v5"
)

// lockPipeline takes the transaction's lock on a pipeline's name: changes
// that read a pipeline and then write it (a new revision, a delete, a
// pause) take turns, as they do on SQLite's single writer. Names that hash
// alike only wait on each other.
func lockPipeline(ctx context.Context, tx pgx.Tx, name string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('baton pipeline ' || current_schema() || ' ' || $1, 0))`, name)
	return err
}

const latestRevision = `SELECT name, revision, spec, created_at
	FROM pipelines WHERE name = $1 AND deleted_at = 0 ORDER BY revision DESC LIMIT 1`

// PipelinePut implements [store.Store.PipelinePut]. The first revision is 1.
func (s *Store) PipelinePut(ctx context.Context, p *store.PipelinePutParams) (*store.PipelineRow, error) {
	var row *store.PipelineRow
	err := s.write(ctx, func(ctx context.Context, tx pgx.Tx) error {
		row = nil
		if err := lockPipeline(ctx, tx, p.Name); err != nil {
			return err
		}
		latest, err := scanPipeline(tx.QueryRow(ctx, latestRevision, p.Name))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
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
		_, err = tx.Exec(ctx, `INSERT INTO pipelines (name, revision, spec, created_at)
			VALUES ($1, $2, $3, $4)`, row.Name, row.Revision, row.Spec, sqlrow.UnixNano(p.Now))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: put pipeline %q: %w", p.Name, err)
	}
	return row, nil
}

// PipelineGet implements [store.Store.PipelineGet].
func (s *Store) PipelineGet(ctx context.Context, name string, revision int) (*store.PipelineRow, error) {
	var (
		row *store.PipelineRow
		err = pgx.ErrNoRows
	)
	switch {
	case !findable(name):
	case revision == 0:
		row, err = queryOne(ctx, s, scanPipeline, latestRevision, name)
	default:
		row, err = queryOne(ctx, s, scanPipeline, `SELECT name, revision, spec, created_at
			FROM pipelines WHERE name = $1 AND revision = $2`, name, revision)
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		if revision == 0 {
			return nil, fmt.Errorf("postgres: pipeline %q: %w", name, err)
		}
		return nil, fmt.Errorf("postgres: pipeline %q revision %d: %w", name, revision, err)
	}
	return row, nil
}

// PipelineList implements [store.Store.PipelineList].
func (s *Store) PipelineList(ctx context.Context) ([]*store.PipelineRow, error) {
	all, err := queryAll(ctx, s, func(sc pgx.Row) (*listedPipeline, error) {
		var (
			p       listedPipeline
			created int64
		)
		if err := sc.Scan(&p.Name, &p.Revision, &p.Spec, &created, &p.deleted); err != nil {
			return nil, err
		}
		p.CreatedAt = sqlrow.FromUnixNano(created)
		return &p, nil
	}, `SELECT DISTINCT ON (name) name, revision, spec, created_at, deleted_at
		FROM pipelines ORDER BY name, revision DESC`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list pipelines: %w", err)
	}
	var out []*store.PipelineRow
	for _, p := range all {
		if p.deleted == 0 { // a pipeline is deleted when its latest revision is
			if p.Spec == nil {
				p.Spec = []byte{}
			}
			out = append(out, &p.PipelineRow)
		}
	}
	return out, nil
}

// listedPipeline is a pipeline's latest revision and whether it is deleted.
type listedPipeline struct {
	store.PipelineRow
	deleted int64
}

func scanPipeline(sc pgx.Row) (*store.PipelineRow, error) {
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
