package store

import "context"

// SignalKind says what a [Signal] tells.
type SignalKind string

// The kinds of signals servers sharing a store send each other.
const (
	// SignalChanged: something about the run changed (a step started or
	// ended, logs were stored, the run ended); watchers re-read it.
	SignalChanged SignalKind = "changed"
	// SignalCancel: a cancel of the run was stored; its owner acts on it.
	SignalCancel SignalKind = "cancel"
)

// Signal is a hint one server gives the others about a run. Signals may be
// lost or come twice: the store stays the truth, and a receiver re-reads it.
type Signal struct {
	Kind  SignalKind
	RunID string
}

// Signaler carries signals between the servers that share a store; a store
// several servers can open implements it (PostgreSQL: LISTEN/NOTIFY).
type Signaler interface {
	// Signal sends s to every server listening, this one included.
	Signal(ctx context.Context, s Signal) error
	// Listen calls fn for every signal sent, from any server, until ctx
	// is done; it reconnects by itself after a lost connection. fn must
	// not block.
	Listen(ctx context.Context, fn func(Signal)) error
}
