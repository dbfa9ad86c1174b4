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

// stepSecrets opens the secrets a step declares and returns those meant as
// files, those meant as env, and a masker for all of them plus the attempt's
// token.
func (e *Engine) stepSecrets(ctx context.Context, st *pipeline.Step, token string) (files map[string][]byte, env map[string]string, m *mask.Masker, err error) {
	values := []string{}
	if token != "" {
		values = append(values, token)
	}
	for _, ref := range st.Secrets {
		if e.cfg.Secrets == nil {
			return nil, nil, nil, fmt.Errorf("step needs secret %q, but this server keeps no secrets", ref.Name)
		}
		v, err := e.cfg.Secrets.Get(ctx, ref.Name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, nil, fmt.Errorf("secret %q is not set; set it with 'baton secrets set %s'", ref.Name, ref.Name)
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("secret %q: %w", ref.Name, err)
		}
		values = append(values, string(v))
		// A value read from a file often ends in a newline the step drops
		// ($(cat file)); mask what it prints either way.
		if trimmed := strings.TrimSpace(string(v)); trimmed != string(v) {
			values = append(values, trimmed)
		}
		// Logs are stored line by line: each line of a multi-line secret (a
		// key file, say) is masked on its own too.
		if strings.Contains(strings.TrimSpace(string(v)), "\n") {
			for _, line := range strings.Split(string(v), "\n") {
				if line = strings.TrimSpace(line); line != "" {
					values = append(values, line)
				}
			}
		}
		if ref.Env != "" {
			if env == nil {
				env = make(map[string]string)
			}
			env[ref.Env] = string(v)
			continue
		}
		if files == nil {
			files = make(map[string][]byte)
		}
		files[ref.Name] = v
	}
	return files, env, mask.New(values...), nil
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
// and values that carry a secret.
func checkOutputs(outputs map[string]string, m *mask.Masker) error {
	for _, name := range slices.Sorted(mapsKeys(outputs)) {
		if pipeline.IsReservedName(name) {
			return fmt.Errorf("output %q: that name is reserved; choose another", name)
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
// the callback API, for engines where no file can be mounted.
func (e *Engine) AttemptSecret(ctx context.Context, runID, step string, attempt int, token, name string) ([]byte, error) {
	if _, err := e.checkAttempt(ctx, runID, step, attempt, token); err != nil {
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
	for _, st := range spec.Steps {
		if st.Name != step {
			continue
		}
		for _, ref := range st.Secrets {
			if ref.Name == name {
				if e.cfg.Secrets == nil {
					return nil, fmt.Errorf("engine: no secrets kept: %w", store.ErrNotFound)
				}
				return e.cfg.Secrets.Get(ctx, name)
			}
		}
	}
	return nil, fmt.Errorf("step %q, secret %q: %w", step, name, ErrForbidden)
}
