package pipeline

import (
	"cmp"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resources limits what one attempt of a step may use. A zero field means
// no limit.
type Resources struct {
	MemoryBytes int64 // at least 4 MiB when set
	PIDs        int64 // 1 to 1,000,000 when set
	NanoCPUs    int64 // CPUs × 1e9: 1.5 CPUs is 1_500_000_000; at most 1024 CPUs
}

const (
	minMemoryBytes = 4 << 20
	maxPIDs        = 1_000_000
	maxCPUs        = 1024
)

// memoryUnits are the suffixes memory: accepts, as Kubernetes writes them.
var memoryUnits = []struct {
	suffix string
	bytes  int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30},
	{"k", 1e3}, {"M", 1e6}, {"G", 1e9},
}

// memoryUnitTypos maps suffixes people write, often after Docker's
// conventions, to the one that most likely means the same.
var memoryUnitTypos = map[string]string{
	"K": "Ki", "KB": "k", "kB": "k", "kb": "k", "KiB": "Ki", "ki": "Ki",
	"m": "Mi", "MB": "M", "mb": "M", "MiB": "Mi", "mi": "Mi",
	"g": "Gi", "GB": "G", "gb": "G", "GiB": "Gi", "gi": "Gi",
}

const (
	memoryUnitList = "k, M, G (powers of 1000) or Ki, Mi, Gi (powers of 1024)"
	memoryHint     = "write a whole number and a unit, " + memoryUnitList + ", e.g. 512Mi or 1G"
)

func (p *parser) resources(n *yaml.Node, field string) Resources {
	var r Resources
	f, _ := p.fields(n, field, []string{"memory", "pids", "cpus"})
	if v, ok := f["memory"]; ok {
		r.MemoryBytes = p.memory(v, field+".memory")
	}
	if v, ok := f["pids"]; ok {
		pids, _ := p.integerOr(v, field+".pids", 1, maxPIDs, "leave pids out for no limit")
		r.PIDs = int64(pids)
	}
	if v, ok := f["cpus"]; ok {
		r.NanoCPUs = p.cpus(v, field+".cpus")
	}
	return r
}

// memory reads a size such as 512Mi; it returns 0 after an error.
func (p *parser) memory(n *yaml.Node, field string) int64 {
	if n = p.resolve(n); n == nil {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		p.errorf(n, field, "is %s; %s", DescribeNode(n), memoryHint)
		return 0
	}
	v := n.Value
	digits := len(v) - len(strings.TrimLeft(v, "0123456789"))
	num, suffix := v[:digits], v[digits:]
	if num == "" {
		p.errorf(n, field, "%.64q is not a size; %s", v, memoryHint)
		return 0
	}
	var unit int64
	for _, u := range memoryUnits {
		if suffix == u.suffix {
			unit = u.bytes
		}
	}
	if unit == 0 {
		if s, ok := memoryUnitTypos[suffix]; ok {
			p.errorf(n, field, "%.64q: the unit %q is not accepted; did you mean %s%s? Units are %s", v, suffix, num, s, memoryUnitList)
		} else {
			p.errorf(n, field, "%.64q is not a size; %s", v, memoryHint)
		}
		return 0
	}
	i, err := strconv.ParseInt(num, 10, 64)
	if err != nil || i > math.MaxInt64/unit {
		p.errorf(n, field, "%.64q is too large; write at most %dGi", v, math.MaxInt64>>30)
		return 0
	}
	if i*unit < minMemoryBytes {
		p.errorf(n, field, "is %s, below the minimum of 4Mi; write 4Mi or more, e.g. 512Mi, or leave memory out for no limit", v)
		return 0
	}
	return i * unit
}

// cpus reads a decimal number of CPUs, such as 1.5, exactly into
// nanoCPUs; it returns 0 after an error.
func (p *parser) cpus(n *yaml.Node, field string) int64 {
	const rule = "write a number above 0 and at most 1024, with at most 9 decimals, e.g. 1.5"
	if n = p.resolve(n); n == nil {
		return 0
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" && n.ShortTag() != "!!float" {
		p.errorf(n, field, "is %s; %s, or leave cpus out for no limit", DescribeNode(n), rule)
		return 0
	}
	v := strings.TrimPrefix(n.Value, "+")
	if strings.HasPrefix(v, "-") {
		p.errorf(n, field, "is %s; %s, or leave cpus out for no limit", n.Value, rule)
		return 0
	}
	whole, frac, _ := strings.Cut(v, ".")
	frac = strings.TrimRight(frac, "0")
	if whole+frac == "" || !allDigits(whole) || !allDigits(frac) {
		p.errorf(n, field, "%.64q is not a plain decimal number; %s", n.Value, rule)
		return 0
	}
	if len(frac) > 9 {
		p.errorf(n, field, "is %s; %s", n.Value, rule)
		return 0
	}
	w, err := strconv.ParseInt(cmp.Or(whole, "0"), 10, 64)
	f, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	nano := w*1e9 + f
	switch {
	case err != nil || w > maxCPUs || nano > maxCPUs*1e9:
		p.errorf(n, field, "is %s; %s", n.Value, rule)
		return 0
	case nano == 0:
		p.errorf(n, field, "is %s; %s, or leave cpus out for no limit", n.Value, rule)
		return 0
	}
	return nano
}

func allDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}
