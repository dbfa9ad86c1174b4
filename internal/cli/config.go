package cli

import (
	"errors"
	"flag"
	"slices"
	"strings"

	"github.com/baton-dev/baton/internal/config"
	"github.com/baton-dev/baton/internal/executor/registry"
)

// configFlag adds --config.
func configFlag(fs *cmdFlags) *string {
	return fs.String("config", "", "config `file` (YAML; see docs/config.md); flags win over it, and it over the defaults (default: $BATON_CONFIG)")
}

// flagKey is the config key a flag sets: its name with _ for -, but
// --executor, which sets default_executor.
func flagKey(name string) string {
	if name == "executor" {
		return "default_executor"
	}
	return strings.ReplaceAll(name, "-", "_")
}

// loadConfig builds the configuration from defaults, the config file, the
// environment and the flags given (with extra as if given too), and checks
// the executors it names against the registry. Nothing is opened.
func loadConfig(env *Env, fs *cmdFlags, file string, extra map[string][]string) (*config.Config, error) {
	keys := config.Keys()
	flags := make(map[string][]string)
	fs.Visit(func(f *flag.Flag) {
		key := flagKey(f.Name)
		if !slices.Contains(keys, key) {
			return
		}
		if l, ok := f.Value.(*listFlag); ok {
			flags[key] = *l
		} else {
			flags[key] = []string{f.Value.String()}
		}
	})
	for k, v := range extra {
		if _, given := flags[k]; !given {
			flags[k] = v
		}
	}
	cfg, err := config.Load(config.Source{File: file, Getenv: env.Getenv, Flags: flags})
	if err == nil {
		err = registry.New().Check(cfg)
	}
	if err == nil {
		err = checkStore(cfg)
	}
	if err != nil {
		if fromFlags(err) {
			return nil, usageError{msg: err.Error()}
		}
		return nil, err
	}
	return cfg, nil
}

// fromFlags reports whether every problem in err is with a flag's value.
func fromFlags(err error) bool {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var ce *config.Error
		if !errors.As(e, &ce) || !strings.HasPrefix(ce.Where, "--") {
			return false
		}
	}
	return true
}
