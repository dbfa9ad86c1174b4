package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// kind is how a key's text becomes its value.
type kind int

const (
	kindString kind = iota
	kindPath        // a string; ~/ at its start, in the file, is the home directory
	kindBool
	kindInt
	kindBytes // a size: 512Mi, 2G, 1048576
	kindAge   // a duration: 90m, 720h, 30d
	kindList  // strings; in the environment, separated by commas
)

// field is one key of the configuration, outside executors.
type field struct {
	key  string
	kind kind
	// noEnv: no BATON_ variable sets the key, because a step sees that
	// variable (BATON_CALLBACK_URL, BATON_SECRETS_DIR are the step
	// contract's), and a baton run inside a step must not take the outer
	// step's values for its own config.
	noEnv bool
	// ptr returns the field of c the key sets: *string, *bool, *int,
	// *int64, *time.Duration or *[]string, as kind says.
	ptr func(c *Config) any
}

// fields are the keys of the configuration but executors, in the order
// the docs list them.
var fields = []field{
	{key: "listen", kind: kindString, ptr: func(c *Config) any { return &c.Listen }},
	{key: "data_dir", kind: kindPath, ptr: func(c *Config) any { return &c.DataDir }},
	{key: "store", kind: kindString, ptr: func(c *Config) any { return &c.Store }},
	{key: "callback_url", kind: kindString, noEnv: true, ptr: func(c *Config) any { return &c.CallbackURL }},
	{key: "default_executor", kind: kindString, ptr: func(c *Config) any { return &c.DefaultExecutor }},
	{key: "max_parallel_steps", kind: kindInt, ptr: func(c *Config) any { return &c.MaxParallelSteps }},
	{key: "allow_image", kind: kindList, ptr: func(c *Config) any { return &c.AllowImage }},
	{key: "require_digest", kind: kindBool, ptr: func(c *Config) any { return &c.RequireDigest }},
	{key: "allow_cap", kind: kindList, ptr: func(c *Config) any { return &c.AllowCap }},
	{key: "default_memory", kind: kindBytes, ptr: func(c *Config) any { return &c.DefaultMemory }},
	{key: "default_pids", kind: kindInt, ptr: func(c *Config) any { return &c.DefaultPIDs }},
	{key: "retention", kind: kindAge, ptr: func(c *Config) any { return &c.Retention }},
	{key: "lease", kind: kindAge, ptr: func(c *Config) any { return &c.Lease }},
	{key: "log_cap", kind: kindBytes, ptr: func(c *Config) any { return &c.LogCap }},
	{key: "secrets_dir", kind: kindPath, noEnv: true, ptr: func(c *Config) any { return &c.SecretsDir }},
	{key: "secret_key_file", kind: kindPath, ptr: func(c *Config) any { return &c.SecretKeyFile }},
	{key: "old_secret_key_file", kind: kindList, ptr: func(c *Config) any { return &c.OldSecretKeyFile }},
	{key: "tls_cert", kind: kindPath, ptr: func(c *Config) any { return &c.TLSCert }},
	{key: "tls_key", kind: kindPath, ptr: func(c *Config) any { return &c.TLSKey }},
	{key: "dev", kind: kindBool, ptr: func(c *Config) any { return &c.Dev }},
	{key: "azure_queue_max_dequeue", kind: kindInt, ptr: func(c *Config) any { return &c.AzureQueueMaxDequeue }},
	{key: "azure_queue_dev_connection_string", kind: kindString, ptr: func(c *Config) any { return &c.AzureQueueDevConnectionString }},
}

// keyExecutors is the file's key for the executors; it has no variable
// or flag.
const keyExecutors = "executors"

// Keys returns every key the file may hold, sorted.
func Keys() []string {
	keys := []string{keyExecutors}
	for _, f := range fields {
		keys = append(keys, f.key)
	}
	return sortedCopy(keys)
}

// EnvName is the variable that sets key, or "" when none does.
func EnvName(key string) string {
	f := lookupField(key)
	if f == nil || f.noEnv {
		return ""
	}
	return "BATON_" + strings.ToUpper(key)
}

func lookupField(key string) *field {
	for i := range fields {
		if fields[i].key == key {
			return &fields[i]
		}
	}
	return nil
}

// set gives key the values, from where; fromFile expands ~/ in paths. It
// returns what is wrong with the values, or "".
func (c *Config) set(f *field, values []string, where string, fromFile bool) string {
	if len(values) == 0 {
		return ""
	}
	c.origin[f.key] = where
	last := values[len(values)-1]
	switch p := f.ptr(c).(type) {
	case *[]string:
		*p = append([]string(nil), values...)
	case *string:
		if f.kind == kindPath && fromFile {
			last = expandHome(last)
		}
		*p = last
	case *bool:
		b, err := strconv.ParseBool(last)
		if err != nil {
			return fmt.Sprintf("%.64q is not true or false", last)
		}
		*p = b
	case *int:
		n, err := strconv.Atoi(last)
		if err != nil {
			return fmt.Sprintf("%.64q is not a whole number", last)
		}
		*p = n
	case *int64:
		var n int64
		var err error
		if f.kind == kindBytes {
			n, err = ParseBytes(last)
		} else if n, err = strconv.ParseInt(last, 10, 64); err != nil {
			err = fmt.Errorf("%.64q is not a whole number", last)
		}
		if err != nil {
			return err.Error()
		}
		*p = n
	case *time.Duration:
		d, err := ParseAge(last)
		if err != nil {
			return err.Error()
		}
		*p = d
	default:
		panic("config: field " + f.key + " has no setter")
	}
	return ""
}

// fromEnv applies the BATON_ variables that are set.
func (c *Config) fromEnv(getenv func(string) string) []*Error {
	var errs []*Error
	for i := range fields {
		f := &fields[i]
		name := EnvName(f.key)
		if name == "" {
			continue
		}
		v := getenv(name)
		if v == "" {
			continue
		}
		values := []string{v}
		if f.kind == kindList {
			values = splitList(v)
		}
		if msg := c.set(f, values, name, false); msg != "" {
			errs = append(errs, &Error{Where: name, Msg: msg})
		}
	}
	return errs
}

// fromFlags applies the flags given.
func (c *Config) fromFlags(flags map[string][]string) []*Error {
	var errs []*Error
	for _, key := range sortedKeys(flags) {
		f := lookupField(key)
		if f == nil {
			panic("config: flag for unknown key " + key)
		}
		where := c.spell(key, "--")
		if msg := c.set(f, flags[key], where, false); msg != "" {
			errs = append(errs, &Error{Where: where, Msg: msg})
		}
	}
	return errs
}

// splitList reads a list from one variable: items separated by commas,
// blanks around them dropped.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// expandHome replaces a leading ~/ with the home directory.
func expandHome(path string) string {
	rest, ok := strings.CutPrefix(path, "~/")
	if !ok {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return path
	}
	return filepath.Join(home, rest)
}

// ParseBytes reads a size such as 512Mi, 1G or 1048576.
func ParseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"k", 1000}, {"K", 1000}, {"M", 1000 * 1000}, {"G", 1000 * 1000 * 1000}}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			mult, num = u.mult, strings.TrimSuffix(s, u.suffix)
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != num || n > (1<<62)/mult {
		return 0, fmt.Errorf("%.64q is not a size; write e.g. 512Mi or 2Gi", s)
	}
	return n * mult, nil
}

// ParseAge reads a duration as Go writes it (90m, 720h) or in whole days
// (30d).
func ParseAge(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 1<<20 {
			return 0, fmt.Errorf("%.64q is not a duration; write e.g. 30d or 720h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%.64q is not a duration; write e.g. 30d or 720h", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%.64q must be longer than 0", s)
	}
	return d, nil
}
