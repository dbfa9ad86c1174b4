package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// writeFile writes a config file in a fresh directory and returns its path.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := Load(Source{Getenv: envOf(map[string]string{"XDG_DATA_HOME": "/xdg"})})
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listen: DefaultListen, DataDir: "/xdg/baton", DefaultExecutor: ExecutorAuto,
		DefaultPIDs: DefaultPIDs, SecretsDir: DefaultSecretsDir(os.Geteuid()), origin: map[string]string{},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	dev, err := Load(Source{Flags: map[string][]string{"dev": {"true"}}})
	if err != nil || dev.Listen != DefaultDevListen {
		t.Errorf("dev without listen: %v, %v; want it on %s", dev, err, DefaultDevListen)
	}
}

func TestDefaultSecretsDirPerUser(t *testing.T) {
	t.Parallel()
	if got := DefaultSecretsDir(0); got != "/dev/shm/baton-secrets" {
		t.Errorf("root's: %q", got)
	}
	a, b := DefaultSecretsDir(1000), DefaultSecretsDir(1001)
	if a == b || a == DefaultSecretsDir(0) || !strings.HasSuffix(a, "-1000") {
		t.Errorf("users 1000 and 1001 get %q and %q; want one each, apart from root's", a, b)
	}
}

// TestPrecedence: the file wins over the defaults, a variable over the
// file, a flag over both, key by key.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	file := `
listen: 127.0.0.1:9000
data_dir: /from/file
max_parallel_steps: 3
allow_image: [registry.example/a/*, registry.example/b/*]
log_cap: 1Mi
retention: {runs: 30d}
require_digest: true
default_memory: 256Mi
callback_url: https://file.example
secrets_dir: /dev/shm/from-file
`
	tests := []struct {
		name  string
		env   map[string]string
		flags map[string][]string
		check func(*Config) bool
	}{
		{"file over defaults", nil, nil, func(c *Config) bool {
			return c.Listen == "127.0.0.1:9000" && c.DataDir == "/from/file" && c.MaxParallelSteps == 3 &&
				slices.Equal(c.AllowImage, []string{"registry.example/a/*", "registry.example/b/*"}) &&
				c.LogCap == 1<<20 && c.Retention == 30*24*time.Hour && c.RequireDigest && c.DefaultMemory == 256<<20 &&
				c.CallbackURL == "https://file.example" && c.SecretsDir == "/dev/shm/from-file" && c.DefaultPIDs == DefaultPIDs
		}},
		{"env over file", map[string]string{
			"BATON_LISTEN": "127.0.0.1:9001", "BATON_MAX_PARALLEL_STEPS": "5", "BATON_ALLOW_IMAGE": "x/*, y/*",
			"BATON_REQUIRE_DIGEST": "false", "BATON_DATA_DIR": "/from/env",
		}, nil, func(c *Config) bool {
			return c.Listen == "127.0.0.1:9001" && c.MaxParallelSteps == 5 && slices.Equal(c.AllowImage, []string{"x/*", "y/*"}) &&
				!c.RequireDigest && c.DataDir == "/from/env" && c.LogCap == 1<<20
		}},
		{"flags over env and file", map[string]string{"BATON_LISTEN": "127.0.0.1:9001", "BATON_MAX_PARALLEL_STEPS": "5"},
			map[string][]string{"listen": {"127.0.0.1:9002"}, "allow_image": {"z/*"}, "log_cap": {"2Mi"}, "callback_url": {"https://flag.example"}},
			func(c *Config) bool {
				return c.Listen == "127.0.0.1:9002" && c.MaxParallelSteps == 5 && slices.Equal(c.AllowImage, []string{"z/*"}) &&
					c.LogCap == 2<<20 && c.CallbackURL == "https://flag.example" && c.DataDir == "/from/file"
			}},
		// A baton inside a step sees the step's BATON_CALLBACK_URL and
		// BATON_SECRETS_DIR: they are never its own config.
		{"step contract variables ignored", map[string]string{
			"BATON_CALLBACK_URL": "http://outer.example", "BATON_SECRETS_DIR": "/run/secrets",
		}, nil, func(c *Config) bool {
			return c.CallbackURL == "https://file.example" && c.SecretsDir == "/dev/shm/from-file"
		}},
	}
	path := writeFile(t, file)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(Source{File: path, Getenv: envOf(tt.env), Flags: tt.flags})
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Errorf("got %+v", c)
			}
		})
	}
	// BATON_CONFIG names the file when no flag does.
	c, err := Load(Source{Getenv: envOf(map[string]string{EnvFile: path})})
	if err != nil || c.File != path || c.Listen != "127.0.0.1:9000" {
		t.Errorf("file from %s: %+v, %v", EnvFile, c, err)
	}
}

func TestNoVariableIsAStepContractName(t *testing.T) {
	t.Parallel()
	contract := []string{executor.EnvOutput, executor.EnvToken, executor.EnvTokenFile, executor.EnvSecretsDir,
		"BATON_CALLBACK_URL", "BATON_RUN_ID", "BATON_STEP", "BATON_ATTEMPT"}
	for _, key := range Keys() {
		if name := EnvName(key); slices.Contains(contract, name) {
			t.Errorf("key %s is set by %s, a variable every step sees", key, name)
		}
	}
	if EnvName("listen") != "BATON_LISTEN" || EnvName("callback_url") != "" || EnvName(keyExecutors) != "" {
		t.Errorf("EnvName: listen %q, callback_url %q, executors %q", EnvName("listen"), EnvName("callback_url"), EnvName(keyExecutors))
	}
}

func TestExecutors(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `executors:
  local:   {type: docker}
  swarm:   {type: swarm, host: unix:///var/run/docker.sock}
  cluster: {type: kubernetes, kubeconfig: ~/.kube/config, namespace: jobs}
default_executor: local
callback_url: https://baton.internal.example
`)
	c, err := Load(Source{File: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := sortedKeys(c.Executors); !slices.Equal(got, []string{"cluster", "local", "swarm"}) || c.DefaultExecutor != "local" {
		t.Fatalf("executors %v, default %q", got, c.DefaultExecutor)
	}
	x := c.Executors["cluster"]
	if x.Name != "cluster" || x.Type != "kubernetes" || x.Where() != path+":4" {
		t.Errorf("cluster entry: %+v at %q", x, x.Where())
	}
	var k struct {
		Kubeconfig Path     `yaml:"kubeconfig"`
		Namespace  string   `yaml:"namespace"`
		Pending    Duration `yaml:"pending_timeout"`
	}
	if err := x.Decode(&k); err != nil {
		t.Fatal(err)
	}
	home, _ := os.UserHomeDir()
	if k.Namespace != "jobs" || string(k.Kubeconfig) != filepath.Join(home, ".kube/config") {
		t.Errorf("decoded %+v", k)
	}
	// --executor picks another of them.
	c, err = Load(Source{File: path, Flags: map[string][]string{"default_executor": {"swarm"}}})
	if err != nil || c.DefaultExecutor != "swarm" {
		t.Errorf("--executor swarm: %v, %v", c, err)
	}
	// One executor is the default without saying so.
	c, err = Load(Source{File: writeFile(t, "executors: {only: {type: process}}\n")})
	if err != nil || c.DefaultExecutor != "only" {
		t.Errorf("one executor: %v, %v", c, err)
	}
}

func TestExecutorDecodeErrors(t *testing.T) {
	t.Parallel()
	path := writeFile(t, `executors:
  cluster:
    type: kubernetes
    namespcae: jobs
    pending_timeout: 30
    ttl: forever
  plain:
    type: process
    dir: /tmp
`)
	c, err := Load(Source{File: path, Flags: map[string][]string{"default_executor": {"plain"}}})
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Namespace string   `yaml:"namespace"`
		Pending   Duration `yaml:"pending_timeout"`
		TTL       Duration `yaml:"ttl"`
	}
	err = c.Executors["cluster"].Decode(&k)
	if err == nil || !strings.Contains(err.Error(), path+`:4: executors.cluster: unknown field "namespcae"; did you mean "namespace"?`) {
		t.Errorf("a misspelt field: %v", err)
	}
	c, err = Load(Source{File: writeFile(t, "executors:\n  cluster:\n    type: kubernetes\n    pending_timeout: 30\n    ttl: forever\n")})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Executors["cluster"].Decode(&k)
	for _, want := range []string{":4: executors.cluster: is the number 30; write a duration", ":5: executors.cluster: \"forever\" is not a duration"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad durations: %v\nwant it to contain %s", err, want)
		}
	}
	var none struct{}
	c, err = Load(Source{File: path, Flags: map[string][]string{"default_executor": {"plain"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Executors["plain"].Decode(&none); err == nil || !strings.Contains(err.Error(), path+":9: executors.plain: type process has no fields of its own") {
		t.Errorf("a field of a type that has none: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		env        map[string]string
		flags      map[string][]string
		want       []string
	}{
		{name: "unknown key", file: "listen: :8080\nretension: 30d\n",
			want: []string{`:2: unknown field "retension"; did you mean "retention"?`}},
		{name: "not a mapping", file: "- a\n", want: []string{":1: the file is a list"}},
		{name: "bad yaml", file: "listen: [\n", want: []string{"not valid YAML"}},
		{name: "two documents", file: "dev: true\n---\ndev: false\n", want: []string{":2: a second YAML document"}},
		{name: "given twice", file: "dev: true\ndev: false\n", want: []string{":2: dev: is given twice, here and at line 1"}},
		{name: "alias", file: "tls_cert: &c a\ntls_key: *c\n", want: []string{":2: aliases (*name) are not supported"}},
		{name: "bad bool", file: "dev: sometimes\n", want: []string{`:1: dev: "sometimes" is not true or false`}},
		{name: "bad number", file: "max_parallel_steps: many\n", want: []string{`:1: max_parallel_steps: "many" is not a whole number`}},
		{name: "negative", file: "max_parallel_steps: -1\n", want: []string{":1: max_parallel_steps: is -1; write 0 (no limit) or more"}},
		{name: "bad size", file: "default_memory: lots\n", want: []string{`:1: default_memory: "lots" is not a size`}},
		{name: "small log cap", file: "log_cap: 10\n", want: []string{":1: log_cap: is 10 bytes; write at least 1Ki"}},
		{name: "short lease", file: "lease: 100ms\n", want: []string{":1: lease: is 100ms; write between 1s and 1h"}},
		{name: "long lease", file: "lease: 2h\n", want: []string{":1: lease: is 2h0m0s; write between 1s and 1h"}},
		{name: "bad age", file: "retention: -5m\n", want: []string{`:1: retention: "-5m" must be longer than 0`}},
		{name: "retention mapping, unknown key", file: "retention: {rnus: 30d}\n", want: []string{`:1: retention: unknown field "rnus"; did you mean "runs"?`}},
		{name: "retention mapping, empty", file: "retention: {}\n", want: []string{`:1: retention: is an empty mapping; write retention: {runs: 90d}`}},
		{name: "retention mapping, list", file: "retention: {runs: [30d]}\n", want: []string{`:1: retention.runs: is a list`}},
		{name: "retention mapping, bad age", file: "retention: {runs: -1d}\n", want: []string{`retention: "-1d" must be longer than 0`}},
		{name: "empty value", file: "listen:\n", want: []string{":1: listen: is empty"}},
		{name: "list for a scalar", file: "listen: [a, b]\n", want: []string{":1: listen: is a list; write a single value"}},
		{name: "mapping for a list", file: "allow_image: {a: b}\n", want: []string{":1: allow_image: is a mapping; write a string or a list"}},
		{name: "bad capability", file: "allow_cap: [net-raw]\n", want: []string{`allow_cap: "NET-RAW" is not a capability name`}},
		{name: "bad callback", file: "callback_url: baton.example\n", want: []string{`:1: callback_url: "baton.example" is not an http or https URL`}},
		{name: "relative secrets dir", file: "secrets_dir: shm\n", want: []string{":1: secrets_dir: \"shm\" is not an absolute path"}},
		{name: "dev off loopback", file: "dev: true\nlisten: 0.0.0.0:8080\n", want: []string{":2: listen: dev serves the API without tokens"}},
		{name: "half tls", file: "tls_cert: c.pem\n", want: []string{":1: tls_cert: give tls_cert and tls_key together"}},
		{name: "executor without type", file: "executors:\n  local: {host: x}\n", want: []string{":2: executors.local: has no type"}},
		{name: "executor type not a string", file: "executors:\n  local: {type: [docker]}\n", want: []string{":2: executors.local.type: is a list"}},
		{name: "executor not a mapping", file: "executors:\n  local: docker\n", want: []string{`:2: executors.local: is the string "docker"; write a mapping with a type`}},
		{name: "bad executor name", file: "executors:\n  Local Docker: {type: docker}\n", want: []string{`:2: executors: "Local Docker" is not a valid name`}},
		{name: "executors not a mapping", file: "executors: [docker]\n", want: []string{":1: executors: is a list"}},
		{name: "no default among several", file: "executors:\n  a: {type: docker}\n  b: {type: process}\n",
			want: []string{"default_executor: is not set and the config names 2 executors; set default_executor to one of a and b"}},
		{name: "default not among them", file: "executors:\n  local: {type: docker}\n  swarm: {type: swarm}\ndefault_executor: lokal\n",
			want: []string{`:4: default_executor: "lokal" is not one of the executors the config names: local and swarm; did you mean local?`}},
		{name: "unknown implicit executor", flags: map[string][]string{"default_executor": {"kubernetes"}},
			want: []string{`--executor: unknown executor "kubernetes"; use one of auto, docker, process`}},
		{name: "bad variable", env: map[string]string{"BATON_MAX_PARALLEL_STEPS": "x"},
			want: []string{`BATON_MAX_PARALLEL_STEPS: "x" is not a whole number`}},
		{name: "bad flag", flags: map[string][]string{"tls_cert": {"c.pem"}},
			want: []string{"--tls-cert: give --tls-cert and --tls-key together"}},
		{name: "several problems, in line order", file: "dev: maybe\nlisten: [x]\nzzz: 1\n",
			want: []string{":1: dev:", ":2: listen:", `:3: unknown field "zzz"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := Source{Getenv: envOf(tt.env), Flags: tt.flags}
			if tt.file != "" {
				src.File = writeFile(t, tt.file)
			}
			_, err := Load(src)
			if err == nil {
				t.Fatalf("Load succeeded; want %q", tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("error %v is not an *Error", err)
			}
			last := -1
			for _, w := range tt.want {
				i := strings.Index(err.Error(), w)
				if i < 0 || i < last {
					t.Errorf("error:\n%v\nwant, in order, %q", err, tt.want)
					break
				}
				last = i
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(Source{File: filepath.Join(t.TempDir(), "nope.yaml")})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml: read the config file") {
		t.Errorf("missing file: %v", err)
	}
	big := writeFile(t, "#"+strings.Repeat("x", MaxFileBytes))
	if _, err := Load(Source{File: big}); err == nil || !strings.Contains(err.Error(), "over 1048576 bytes") {
		t.Errorf("large file: %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want int64
	}{{"1048576", 1 << 20}, {"512Mi", 512 << 20}, {"2Gi", 2 << 30}, {"1k", 1000}, {"3M", 3e6}, {"0", -1}, {"-1Mi", -1}, {"1.5Gi", -1}, {"Mi", -1}, {"99999999999Gi", -1}} {
		got, err := ParseBytes(tt.in)
		if tt.want < 0 && err == nil || tt.want >= 0 && (err != nil || got != tt.want) {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}
