// Package registry builds baton's executors from its configuration. It is
// the one place that knows every executor type: [New] lists them in one
// literal table, and [Registry.Build] makes, for every entry of a config
// file's executors (or the one executor a server without such a file
// runs), the executor it names, under its registry name.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor"
)

// Env is what every executor is built with besides its own fields.
type Env struct {
	// DataDir is baton's data directory; executors that keep files on
	// this machine keep them under it.
	DataDir string
	// Instance names this baton installation; what executors create
	// carries it, so one installation never removes another's.
	Instance string
	// SecretsDir is the tmpfs directory executors on this machine write
	// attempts' secrets under.
	SecretsDir string
	// DefaultLimits bound the container steps that set no limits of their
	// own; they do not apply to local processes.
	DefaultLimits executor.Limits
	// Logger receives the executors' diagnostics.
	Logger *slog.Logger
}

// Type is one kind of executor: how its own fields are read and how it is
// made.
type Type struct {
	// Remote says the type runs steps on other machines, which reach
	// baton only at the configured callback_url.
	Remote bool
	// Hidden keeps the type out of the lists messages show (noop is for
	// benchmarks).
	Hidden bool
	// decode reads an entry's own fields; build makes the executor from
	// what decode read.
	decode func(x *config.Executor) (any, error)
	build  func(ctx context.Context, env *Env, name string, fields any) (executor.Executor, error)
}

// typeOf makes a [Type] whose own fields are the struct F: its yaml tags
// are the keys an entry of the type may hold.
func typeOf[F any](build func(ctx context.Context, env *Env, name string, f *F) (executor.Executor, error)) Type {
	return Type{
		decode: func(x *config.Executor) (any, error) {
			f := new(F)
			if err := x.Decode(f); err != nil {
				return nil, err
			}
			return f, nil
		},
		build: func(ctx context.Context, env *Env, name string, f any) (executor.Executor, error) {
			return build(ctx, env, name, f.(*F))
		},
	}
}

// remote marks t as running steps on other machines.
func remote(t Type) Type {
	t.Remote = true
	return t
}

// hidden keeps t out of messages.
func hidden(t Type) Type {
	t.Hidden = true
	return t
}

// Registry is the set of executor types baton can build.
type Registry struct {
	types map[string]Type
}

// New returns the registry of every executor type baton has.
func New() *Registry {
	return &Registry{types: map[string]Type{
		"docker":     typeOf(newDocker),
		"process":    typeOf(newProcess),
		"noop":       hidden(typeOf(newNoop)),
		"swarm":      remote(typeOf(newSwarm)),
		"kubernetes": kubernetesType(),
		"aci":        aciType(),
	}}
}

// Types returns the names of the types messages may list, sorted.
func (r *Registry) Types() []string {
	var names []string
	for name, t := range r.types {
		if !t.Hidden {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Check reads every executor entry of cfg without building anything: an
// unknown type, a field the type does not have or a value of the wrong
// form is an error at its line; so is a remote type without callback_url.
func (r *Registry) Check(cfg *config.Config) error {
	var errs []error
	for _, name := range sortedNames(cfg.Executors) {
		x := cfg.Executors[name]
		t, err := r.typeOf(x)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := t.decode(x); err != nil {
			errs = append(errs, err)
			continue
		}
		if t.Remote && cfg.CallbackURL == "" {
			errs = append(errs, x.Errorf("type %s runs steps on other machines, which reach baton only at callback_url; set callback_url to the API's address as they see it", x.Type))
		}
	}
	return errors.Join(errs...)
}

func (r *Registry) typeOf(x *config.Executor) (Type, error) {
	t, ok := r.types[x.Type]
	if !ok {
		return Type{}, x.Errorf("unknown type %.64q; use one of %s", x.Type, strings.Join(r.Types(), ", "))
	}
	return t, nil
}

// Set is the executors a server runs, by registry name.
type Set struct {
	// Executors are the executors by registry name.
	Executors map[string]executor.Executor
	// Types are their types, by registry name.
	Types map[string]string
}

// Build makes the executor of every entry. Nothing is contacted yet: an
// executor that can say whether its engine answers does so through its
// own Ping. On an error, what was built is closed.
func (r *Registry) Build(ctx context.Context, entries map[string]*config.Executor, env *Env) (*Set, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Set{Executors: make(map[string]executor.Executor), Types: make(map[string]string)}
	for _, name := range sortedNames(entries) {
		x := entries[name]
		t, err := r.typeOf(x)
		if err == nil {
			var fields any
			if fields, err = t.decode(x); err == nil {
				var exec executor.Executor
				if exec, err = t.build(ctx, env, name, fields); err == nil {
					s.Executors[name], s.Types[name] = exec, x.Type
					continue
				}
				err = fmt.Errorf("executor %q (type %s): %w", name, x.Type, err)
			}
		}
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close releases what the executors hold, if they hold anything.
func (s *Set) Close() {
	for _, exec := range s.Executors {
		if c, ok := exec.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// Names returns the registry names, sorted.
func (s *Set) Names() []string { return sortedNames(s.Executors) }

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
