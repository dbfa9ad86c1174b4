// Package config is the configuration of `baton server` and `baton exec`:
// a plain [Config] built from defaults, then a YAML file, then BATON_*
// environment variables, then command-line flags, and checked by
// [Config.Validate]. [Load] does all of it; the result is not changed
// afterwards. The file names the executors steps may run on (see
// [Executor]); docs/config.md describes every field.
package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is baton's configuration once loaded. Every field holds its
// final value: defaults are filled in, sizes and durations parsed.
type Config struct {
	// Listen is the address the API listens on.
	Listen string
	// DataDir holds baton's database, keys and the first admin token.
	DataDir string
	// Store is where runs are kept: empty or [StoreSQLite] for a database
	// file in DataDir, or a postgres:// URL of a database several servers
	// may share.
	Store string
	// CallbackURL is the API's base URL as steps see it; empty means baton
	// derives it from Listen and the executor.
	CallbackURL string
	// Executors are the executors the config file names, by registry name.
	// Empty when it names none: then DefaultExecutor is one of
	// [ImplicitExecutors].
	Executors map[string]*Executor
	// DefaultExecutor names the executor of pipelines that name none: one
	// of Executors, or, without them, auto, docker or process.
	DefaultExecutor string
	// MaxParallelSteps bounds the step attempts running at once; 0 means
	// no bound.
	MaxParallelSteps int
	// AllowImage are the image patterns steps may run; empty: any.
	AllowImage []string
	// RequireDigest makes steps pin images by digest.
	RequireDigest bool
	// AllowCap are the Linux capabilities steps may add back, upper case
	// and without CAP_.
	AllowCap []string
	// DefaultMemory is the memory limit, in bytes, of container steps that
	// set none; 0 means none.
	DefaultMemory int64
	// DefaultPIDs is the process limit of container steps that set none.
	DefaultPIDs int64
	// Retention is how long ended runs are kept; 0 keeps them all.
	Retention time.Duration
	// Lease is how long a server holds a run without renewing it; 0 means
	// the engine's default. It matters on a store several servers share.
	Lease time.Duration
	// LogCap bounds the bytes of output stored per attempt; 0 means the
	// engine's default.
	LogCap int64
	// SecretsDir is the tmpfs directory executors on this machine write
	// attempts' secrets under.
	SecretsDir string
	// SecretKeyFile holds the key secrets are sealed with; empty means
	// secret.key in DataDir.
	SecretKeyFile string
	// OldSecretKeyFile are earlier key files, still used to open secrets.
	OldSecretKeyFile []string
	// TLSCert and TLSKey make the API serve HTTPS.
	TLSCert, TLSKey string
	// Dev serves the API without tokens, on loopback only.
	Dev bool
	// AzureQueueMaxDequeue is the max_dequeue of azure_queue triggers
	// that set none; 0 means the trigger's default.
	AzureQueueMaxDequeue int
	// AzureQueueDevConnectionString is a storage emulator's connection
	// string (Azurite on this machine), for development only.
	AzureQueueDevConnectionString string

	// File is the config file read, "" when none was.
	File string

	// origin says where each key's value came from, for errors.
	origin map[string]string
}

// Implicit executor choices, for a configuration whose file names no
// executors: auto picks docker when its engine answers at a data dir's
// first start, else process, and keeps to that choice.
const (
	ExecutorAuto    = "auto"
	ExecutorDocker  = "docker"
	ExecutorProcess = "process"
	// ExecutorNoop runs nothing; for benchmarks, not listed in help.
	ExecutorNoop = "noop"
)

// ImplicitExecutors are what DefaultExecutor may be when the file names no
// executors.
var ImplicitExecutors = []string{ExecutorAuto, ExecutorDocker, ExecutorProcess}

// DefaultListen is where the API listens unless told otherwise; with Dev,
// [DefaultDevListen].
const (
	DefaultListen    = ":8080"
	DefaultDevListen = "127.0.0.1:8080"
)

// StoreSQLite is [Config.Store] for the SQLite database in the data dir,
// the default.
const StoreSQLite = "sqlite"

// DefaultPIDs is the default of [Config.DefaultPIDs].
const DefaultPIDs = 512

// EnvFile names the variable that gives the config file when no flag does.
const EnvFile = "BATON_CONFIG"

// DefaultDataDir is where state lives when neither the file, the
// environment (BATON_DATA_DIR) nor a flag says: $XDG_DATA_HOME/baton, else
// ~/.local/share/baton.
func DefaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "baton")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "baton")
	}
	return ".baton"
}

// DefaultSecretsDir is where secrets go unless told otherwise: a directory
// on /dev/shm, a tmpfs. For any user but root it carries the user's uid:
// /dev/shm is shared by every local user, and one user's baton must never
// find its secrets directory made, and readable, by another.
func DefaultSecretsDir(uid int) string {
	if uid == 0 {
		return "/dev/shm/baton-secrets"
	}
	return "/dev/shm/baton-secrets-" + strconv.Itoa(uid)
}

// defaults returns a configuration before any file, variable or flag.
func defaults(getenv func(string) string) *Config {
	return &Config{
		DataDir:     DefaultDataDir(getenv),
		DefaultPIDs: DefaultPIDs,
		SecretsDir:  DefaultSecretsDir(os.Geteuid()),
		origin:      make(map[string]string),
	}
}

// Source says where [Load] finds the configuration besides its defaults.
type Source struct {
	// File is the config file's path; empty means the one $BATON_CONFIG
	// names, if any.
	File string
	// Getenv reads the environment; nil reads nothing.
	Getenv func(string) string
	// Flags are the values given on the command line, by config key (as
	// in the file: data_dir, not --data-dir), each in the order given.
	// Only flags actually given belong here: their presence overrides.
	Flags map[string][]string
}

// Load builds the configuration: defaults, then the file, then the BATON_*
// environment, then the flags, then [Config.Validate]. Every problem found
// is reported, each an [*Error], joined.
func Load(src Source) (*Config, error) {
	getenv := src.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := defaults(getenv)
	file := src.File
	if file == "" {
		file = getenv(EnvFile)
	}
	var errs errorList
	if file != "" {
		data, err := readFile(file)
		if err != nil {
			return nil, &Error{Where: file, Msg: err.Error()}
		}
		c.File = file
		errs.add(parseFile(c, file, data)...)
	}
	errs.add(c.fromEnv(getenv)...)
	errs.add(c.fromFlags(src.Flags)...)
	c.finish()
	if err := c.Validate(); err != nil {
		// Every problem at once, those of the values read with them.
		var joined interface{ Unwrap() []error }
		var one *Error
		switch {
		case errors.As(err, &joined):
			for _, e := range joined.Unwrap() {
				if errors.As(e, &one) {
					errs.add(one)
				}
			}
		case errors.As(err, &one):
			errs.add(one)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return c, nil
}

// finish fills in what depends on other fields.
func (c *Config) finish() {
	if c.Listen == "" {
		c.Listen = DefaultListen
		if c.Dev {
			c.Listen = DefaultDevListen
		}
	}
	for i, capName := range c.AllowCap {
		c.AllowCap[i] = strings.TrimPrefix(strings.ToUpper(capName), "CAP_")
	}
	if len(c.Executors) == 0 {
		c.DefaultExecutor = strings.ToLower(c.DefaultExecutor)
	}
	if c.DefaultExecutor == "" {
		switch len(c.Executors) {
		case 0:
			c.DefaultExecutor = ExecutorAuto
		case 1:
			for name := range c.Executors {
				c.DefaultExecutor = name
			}
		}
	}
}

// Origin says where the value of a key came from: "FILE:LINE", a
// variable's name, "--flag", or "" for a default.
func (c *Config) Origin(key string) string { return c.origin[key] }

// readFile reads a config file of at most [MaxFileBytes].
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the config file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the config file: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("the config file is over %d bytes (1 MiB); a config is far smaller", MaxFileBytes)
	}
	return data, nil
}
