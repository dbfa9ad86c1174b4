package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/baton-dev/baton/internal/imagepolicy"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/suggest"
)

// MinLogCap is the smallest [Config.LogCap] allowed.
const MinLogCap = 1 << 10

// Validate checks the configuration as a whole; [Load] calls it. Each
// problem names where its value came from. The executors' own fields are
// the registry's to check.
func (c *Config) Validate() error {
	var errs errorList
	bad := func(key, format string, args ...any) {
		e := &Error{Where: c.origin[key], Key: key, Msg: fmt.Sprintf(format, args...)}
		if e.Where != "" && (c.File == "" || !strings.HasPrefix(e.Where, c.File)) {
			e.Key = "" // a variable or a flag: its name says which key
		}
		errs.add(e)
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("listen", "%.64q is not an address; write host:port, e.g. :8080 or 127.0.0.1:8080", c.Listen)
	} else if c.Dev && !loopback(c.Listen) {
		bad("listen", "dev serves the API without tokens, so it listens only on loopback; listen on 127.0.0.1:PORT")
	}
	if c.DataDir == "" {
		bad("data_dir", "is empty; give the directory baton keeps its database in")
	}
	if problem := storeProblem(c.Store); problem != "" {
		bad("store", "%s", problem)
	}
	if c.CallbackURL != "" {
		if u, err := url.Parse(c.CallbackURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("callback_url", "%.64q is not an http or https URL; write the API's base URL as steps reach it, e.g. https://baton.internal.example", c.CallbackURL)
		}
	}
	c.validateExecutors(bad)
	if c.MaxParallelSteps < 0 {
		bad("max_parallel_steps", "is %d; write 0 (no limit) or more", c.MaxParallelSteps)
	}
	if err := (imagepolicy.Policy{Allow: c.AllowImage, RequireDigest: c.RequireDigest}).Validate(); err != nil {
		bad("allow_image", "%v", err)
	}
	for _, capName := range c.AllowCap {
		if !capability(capName) {
			bad("allow_cap", "%.64q is not a capability name; write e.g. NET_BIND_SERVICE", capName)
		}
	}
	if c.DefaultPIDs < 0 {
		bad("default_pids", "is %d; write a limit above 0", c.DefaultPIDs)
	}
	if c.Lease != 0 && (c.Lease < time.Second || c.Lease > time.Hour) {
		bad("lease", "is %s; write between 1s and 1h, e.g. 15s", c.Lease)
	}
	if c.LogCap != 0 && c.LogCap < MinLogCap {
		bad("log_cap", "is %d bytes; write at least 1Ki", c.LogCap)
	}
	if !filepath.IsAbs(c.SecretsDir) {
		bad("secrets_dir", "%.64q is not an absolute path; write the tmpfs directory secrets go under, e.g. %s", c.SecretsDir, DefaultSecretsDir(0))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		given := "tls_key"
		if c.TLSCert != "" {
			given = "tls_cert"
		}
		bad(given, "give %s and %s together", c.spell("tls_cert", c.origin[given]), c.spell("tls_key", c.origin[given]))
	}
	return errs.err()
}

// validateExecutors checks the executors' names and the default.
func (c *Config) validateExecutors(bad func(key, format string, args ...any)) {
	for _, name := range sortedKeys(c.Executors) {
		x := c.Executors[name]
		if x == nil || x.Name != name {
			bad(keyExecutors, "entry %q is not well formed", name)
			continue
		}
		if problem := pipeline.ExecutorNameProblem(name); problem != "" {
			bad(keyExecutors, "%.64q %s", name, problem)
		}
	}
	def := c.DefaultExecutor
	switch {
	case len(c.Executors) == 0 && def != ExecutorNoop && !slices.Contains(ImplicitExecutors, strings.ToLower(def)):
		bad("default_executor", "unknown executor %.64q; use one of %s, or name executors in a config file (--config)", def, strings.Join(ImplicitExecutors, ", "))
	case len(c.Executors) == 0:
	case def == "":
		bad("default_executor", "is not set and the config names %d executors; set default_executor to one of %s", len(c.Executors), listWords(sortedKeys(c.Executors)))
	case c.Executors[def] == nil:
		msg := fmt.Sprintf("%.64q is not one of the executors the config names: %s", def, listWords(sortedKeys(c.Executors)))
		if s := suggest.Closest(def, sortedKeys(c.Executors)); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		bad("default_executor", "%s", msg)
	}
}

// spell writes key as it is given where origin is: --tls-cert for a flag,
// BATON_TLS_CERT for a variable, tls_cert in the file.
func (c *Config) spell(key, origin string) string {
	switch {
	case strings.HasPrefix(origin, "--") && key == "default_executor":
		return "--executor"
	case strings.HasPrefix(origin, "--"):
		return "--" + strings.ReplaceAll(key, "_", "-")
	case strings.HasPrefix(origin, "BATON_") && EnvName(key) != "":
		return EnvName(key)
	}
	return key
}

// loopback reports whether addr's host is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// capability reports whether name looks like a capability: upper case
// letters, digits and _.
func capability(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// storeProblem says what is wrong with a store value, or "". The value is
// never shown: a URL may carry a password.
func storeProblem(value string) string {
	scheme, _, _ := strings.Cut(value, "://")
	switch {
	case value == "" || value == StoreSQLite:
		return ""
	case scheme != "postgres" && scheme != "postgresql":
		return "is neither sqlite nor a postgres:// URL; write sqlite (the default) or e.g. postgres://baton@db.example:5432/baton"
	}
	if _, err := url.Parse(value); err != nil {
		return "is not a URL that can be read; write e.g. postgres://baton@db.example:5432/baton, with special characters %-escaped"
	}
	return ""
}
