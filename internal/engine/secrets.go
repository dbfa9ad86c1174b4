package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/mask"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// SecretSource opens secrets by name; the vault is one.
type SecretSource interface {
	Get(ctx context.Context, name string) ([]byte, error)
}

// ErrForbidden is returned when the attempt's step does not declare the
// secret it asks for.
var ErrForbidden = errors.New("the step does not declare this secret")

// stepSecrets opens the secrets a step declares, as they are now, by name.
func (e *Engine) stepSecrets(ctx context.Context, st *pipeline.Step) (map[string][]byte, error) {
	values := make(map[string][]byte, len(st.Secrets))
	for _, ref := range st.Secrets {
		if e.cfg.Secrets == nil {
			return nil, fmt.Errorf("step needs secret %q, but this server keeps no secrets", ref.Name)
		}
		v, err := e.cfg.Secrets.Get(ctx, ref.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("secret %q is not set; set it with 'baton secrets set %s'", ref.Name, ref.Name)
		}
		if err != nil {
			return nil, fmt.Errorf("secret %q: %w", ref.Name, err)
		}
		values[ref.Name] = v
	}
	return values, nil
}

// deliver splits an attempt's secrets into those its step wants as files
// and those it wants as env.
func deliver(st *pipeline.Step, values map[string][]byte) (files map[string][]byte, env map[string]string) {
	for _, ref := range st.Secrets {
		v, ok := values[ref.Name]
		switch {
		case !ok:
		case ref.Env != "":
			if env == nil {
				env = make(map[string]string)
			}
			env[ref.Env] = string(v)
		default:
			if files == nil {
				files = make(map[string][]byte)
			}
			files[ref.Name] = v
		}
	}
	return files, env
}

// checkPolicy refuses a step the server's policy does not allow, before
// anything is created for it.
func (e *Engine) checkPolicy(st *pipeline.Step) error {
	if st.Image != "" && e.cfg.ImagePolicy != nil {
		if err := e.cfg.ImagePolicy(st.Image); err != nil {
			return fmt.Errorf("image policy: %w", err)
		}
	}
	for _, c := range st.CapAdd {
		if !slices.Contains(e.cfg.AllowCaps, c) {
			allowed := "none"
			if len(e.cfg.AllowCaps) > 0 {
				allowed = strings.Join(e.cfg.AllowCaps, ", ")
			}
			return fmt.Errorf("capability %s is not allowed by the server (allowed: %s); ask the operator to start it with --allow-cap %s", c, allowed, c)
		}
	}
	return nil
}

// limits are a step's resources, the server's defaults filling the gaps.
func (e *Engine) limits(st *pipeline.Step) executor.Limits {
	l := e.cfg.DefaultLimits
	if st.Resources.MemoryBytes > 0 {
		l.MemoryBytes = st.Resources.MemoryBytes
	}
	if st.Resources.PIDs > 0 {
		l.PIDs = st.Resources.PIDs
	}
	if st.Resources.NanoCPUs > 0 {
		l.NanoCPUs = st.Resources.NanoCPUs
	}
	return l
}

// checkOutputs refuses output names that would change how a later step runs
// and values that carry a secret. Later steps see an output as envPrefix
// followed by its name, the run's env_prefix, so the name is checked both
// alone and with the prefix: with env_prefix G, IT_SSH_COMMAND would be
// GIT_SSH_COMMAND.
func checkOutputs(outputs map[string]string, envPrefix string, m *mask.Masker) error {
	for _, name := range slices.Sorted(mapsKeys(outputs)) {
		if pipeline.IsReservedName(name) {
			return fmt.Errorf("output %.64q: that name is reserved; choose another", name)
		}
		if err := pipeline.CheckVarName(envPrefix, name); err != nil {
			return fmt.Errorf("output %w", err)
		}
		if m != nil && m.Contains(outputs[name]) {
			return fmt.Errorf("output %q carries the value of a secret or token; outputs are stored and shown in clear, so it is refused", name)
		}
	}
	return nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// AttemptSecret hands a running attempt a secret its step declares, through
// the callback API, for engines where no file can be mounted. The value is
// the one the attempt started with, even if the secret changed or was
// deleted since.
func (e *Engine) AttemptSecret(ctx context.Context, runID, step string, attempt int, token, name string) ([]byte, error) {
	a, err := e.checkAttempt(ctx, runID, step, attempt, token)
	if err != nil {
		return nil, err
	}
	run, err := e.st.RunGet(ctx, runID)
	if err != nil {
		return nil, err
	}
	spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
	if err != nil {
		return nil, err
	}
	declared := false
	for _, st := range spec.Steps {
		if st.Name == step {
			declared = slices.ContainsFunc(st.Secrets, func(ref pipeline.SecretRef) bool { return ref.Name == name })
		}
	}
	if !declared {
		return nil, fmt.Errorf("step %q, secret %q: %w", step, name, ErrForbidden)
	}
	started, err := e.openStart(attemptKey{runID, step, attempt}, a.Sealed)
	if err != nil {
		e.log.Error("open an attempt's secrets", "run_id", runID, "step", step, "attempt", attempt, "err", err)
		return nil, fmt.Errorf("engine: the secrets attempt %d of step %q started with cannot be opened: %w", attempt, step, err)
	}
	v, ok := started.Secrets[name]
	if !ok {
		return nil, fmt.Errorf("engine: attempt %d of step %q started without secret %q: %w", attempt, step, name, store.ErrNotFound)
	}
	return v, nil
}
