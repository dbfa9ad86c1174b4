package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/jackc/pgx/v5"
)

var _ store.Signaler = (*Store)(nil)

// Bounds of the wait before [Store.Listen] connects again.
const (
	listenRetryFirst = 100 * time.Millisecond
	listenRetryMax   = 5 * time.Second
)

// maxChannel is the longest name PostgreSQL keeps of a channel.
const maxChannel = 63

// payload is a signal as NOTIFY carries it.
type payload struct {
	Kind  store.SignalKind `json:"kind"`
	RunID string           `json:"run"`
}

// channel is the NOTIFY channel of the store's schema: stores in other
// schemas of the database do not hear its signals.
func (s *Store) channel() string {
	c := "baton:" + s.schema
	if len(c) > maxChannel {
		sum := sha256.Sum256([]byte(s.schema))
		c = "baton:" + hex.EncodeToString(sum[:16])
	}
	return c
}

// Signal implements [store.Signaler] with NOTIFY: every connection that
// listens on the store's channel hears it, this server's included.
func (s *Store) Signal(ctx context.Context, sig store.Signal) error {
	if s.closed.Load() {
		return errClosed
	}
	b, err := json.Marshal(payload{Kind: sig.Kind, RunID: sig.RunID})
	if err == nil {
		_, err = s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, s.channel(), string(b))
	}
	if err != nil {
		return fmt.Errorf("postgres: signal %s of run %q: %w", sig.Kind, sig.RunID, err)
	}
	return nil
}

// Listen implements [store.Signaler] with LISTEN on a connection of its
// own. When the connection is lost it connects again, with a growing wait;
// what was sent meanwhile is lost, as a signal may be. It returns nil once
// ctx is done, and when the store closes.
func (s *Store) Listen(ctx context.Context, fn func(store.Signal)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	delay := listenRetryFirst
	for {
		listened, err := s.listenOnce(ctx, fn)
		if ctx.Err() != nil {
			return nil
		}
		if listened {
			delay = listenRetryFirst
		}
		s.log.Warn("listen for other servers' signals: connection lost; connecting again", "err", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, listenRetryMax)
	}
}

// listenOnce listens until the connection fails or ctx ends; listened says
// whether it got as far as listening.
func (s *Store) listenOnce(ctx context.Context, fn func(store.Signal)) (listened bool, err error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] += " listen"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{s.channel()}.Sanitize()); err != nil {
		return false, err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		var p payload
		// Anyone who may connect can NOTIFY: what is not a signal is
		// dropped, and a signal is only a hint to re-read the store.
		if json.Unmarshal([]byte(n.Payload), &p) != nil || p.RunID == "" ||
			(p.Kind != store.SignalChanged && p.Kind != store.SignalCancel) {
			continue
		}
		fn(store.Signal{Kind: p.Kind, RunID: p.RunID})
	}
}
