package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

func runApply(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "apply", "apply -f FILE|DIR [-f FILE|DIR ...] [--server URL]")
	var given listFlag
	fs.Var(&given, "f", "pipeline definition `file`, or a directory of *.yaml files (required; repeat for several, applied in order)")
	server := remoteFlags(fs, env)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q; give files with -f", pos[0])
	}
	if len(given) == 0 {
		return usagef("nothing to apply; use -f FILE or -f DIR")
	}
	var files []string
	for _, path := range given {
		more, err := specFiles(path)
		if err != nil {
			return err
		}
		files = append(files, more...)
	}
	c := server.client()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("read pipeline: %w", err)
		}
		p, err := c.Apply(ctx, f, data)
		if err != nil {
			return err
		}
		state := "unchanged"
		if p.Created != nil && *p.Created {
			state = "created"
		}
		fmt.Fprintf(env.Stdout, "pipeline %s revision %d %s\n", p.Name, p.Revision, state)
	}
	return nil
}

// specFiles returns path itself, or the YAML files in it when it is a
// directory.
func specFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read pipeline: %w", err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	for _, pattern := range []string{"*.yaml", "*.yml"} {
		m, err := filepath.Glob(filepath.Join(path, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.yaml or *.yml files in %s", path)
	}
	slices.Sort(files)
	return files, nil
}
