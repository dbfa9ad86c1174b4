package pipeline

import (
	"fmt"
	"strings"

	"github.com/baton-dev/baton/internal/contract"
	"gopkg.in/yaml.v3"
)

// SecretDir is the directory a step finds its secrets in, one file per
// secret named after it, unless the secret asks for an environment variable.
const SecretDir = "/run/secrets"

// maxSecretName bounds a secret's name, which becomes a file name.
const maxSecretName = 128

// SecretRef names a secret a step receives. The value is kept by the server,
// never in the pipeline file.
type SecretRef struct {
	// Name matches [A-Za-z_][A-Za-z0-9_.-]*, at most 128 characters.
	Name string
	// Env, when not "", is the environment variable the value is given in,
	// instead of the file SecretDir/Name. It is a valid variable name, not
	// reserved ([IsReservedName]) and not starting with the pipeline's
	// env_prefix.
	Env string
}

func (p *parser) secrets(n *yaml.Node, field, envPrefix string, env map[string]string) []SecretRef {
	const example = "[{name: db_password}, {name: api_key, env: API_KEY}]"
	if n = p.resolve(n); n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "is %s; write a list, e.g. %s", DescribeNode(n), example)
		return nil
	}
	out := make([]SecretRef, 0, len(n.Content))
	names := make(map[string]int, len(n.Content))
	envs := make(map[string]int, len(n.Content))
	for i, item := range n.Content {
		at := fmt.Sprintf("%s[%d]", field, i)
		if item = p.resolve(item); item == nil {
			return out
		}
		if item.Kind != yaml.MappingNode {
			p.errorf(item, at, "is %s; write a mapping, e.g. {name: db_password} or {name: api_key, env: API_KEY}", DescribeNode(item))
			continue
		}
		f, _ := p.fields(item, at, []string{"name", "env"})
		var s SecretRef
		if v, ok := f["name"]; !ok {
			p.errorf(item, at, "missing name; add e.g. name: db_password")
		} else if name, ok := p.str(v, at+".name"); ok {
			if problem := secretNameProblem(name); problem != "" {
				p.errorf(v, at+".name", "%.64q %s", name, problem)
			} else if first, dup := names[name]; dup {
				p.errorf(v, at+".name", "%q is listed twice, also at %s[%d]; list each secret once", name, field, first)
			} else {
				names[name] = i
			}
			s.Name = name
		}
		if v, ok := f["env"]; ok {
			if name, ok := p.str(v, at+".env"); ok {
				if problem := secretEnvProblem(name, envPrefix); problem != "" {
					p.errorf(v, at+".env", "%s", problem)
				} else if first, dup := envs[name]; dup {
					p.errorf(v, at+".env", "%q is also the env of %s[%d]; give each secret its own variable", name, field, first)
				} else if _, set := env[name]; set {
					p.errorf(v, at+".env", "%q is also set by this step's env; remove it from one of them", name)
				} else {
					envs[name] = i
				}
				s.Env = name
			}
		}
		out = append(out, s)
	}
	return out
}

// secretNameProblem says what is wrong with a secret's name, or "".
func secretNameProblem(name string) string {
	const rule = "use letters, digits, _, . and -, starting with a letter or _, at most 128 characters, e.g. db_password"
	switch {
	case name == "":
		return "is empty; " + rule
	case len(name) > maxSecretName:
		return fmt.Sprintf("is %d characters long; %s", len(name), rule)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '.' || c == '-')) {
			return "is not a valid secret name; " + rule
		}
	}
	return ""
}

// secretEnvProblem says what is wrong with a secret's env, or "".
func secretEnvProblem(name, envPrefix string) string {
	const fix = "pick another name, e.g. API_KEY, or leave env out to get the secret as a file in " + SecretDir
	if err := contract.ValidName(name); err != nil {
		return fmt.Sprintf("is not a valid environment variable name: %v", err)
	}
	if why := reservedReason(name); why != "" {
		return why + "; " + fix
	}
	if strings.HasPrefix(name, envPrefix) {
		return fmt.Sprintf("%q starts with %q, the env_prefix of run variables; %s", name, envPrefix, fix)
	}
	return ""
}
