package executortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/contract"
	"github.com/baton-dev/baton/internal/executor"
)

// hostileTimeout bounds an attempt whose output file is hostile. Baton must
// not hang on a pipe or a device there; this only keeps a broken executor
// from hanging the suite.
const hostileTimeout = time.Minute

// oversized is the size of the Oversized case's output file.
const oversized = contract.MaxInputBytes + 256<<10

// Exit codes by which a hostile step says it could not set its trap, which
// skips the case with the reason.
const (
	exitNoMknod    = 42
	exitNoHardLink = 43
)

func randomHex(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// hostileOutput replaces the output file with everything but a regular
// file: links to a host file that holds a marker (absolute, relative, to a
// directory, dangling), a directory, a named pipe, a device, a hard link,
// and a file far over the limit. Whatever the executor, the attempt ends,
// yields nothing from the link's target, names the refusal in
// [executor.Result.OutputError], and no error quotes the marker. The
// target is intact after [executor.Executor.Remove].
func (s suite) hostileOutput(t *testing.T) {
	t.Parallel()
	s.needsRun(t, "what baton makes of an output file the command replaced")
	marker := "marker-" + randomHex(t)
	host := t.TempDir()
	// What an attacker is after: not name=value, so a parser that quotes
	// bad lines would echo it, and then as a variable.
	target := filepath.Join(host, "admin.token")
	content := marker + "\nLEAKED=" + marker + "\n"
	if err := os.WriteFile(target, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	replace := `rm -f "$BATON_OUTPUT" && `
	for _, tc := range []struct {
		name   string
		script string
		capAdd []string
		// refused says the executor must report the file in OutputError.
		refused bool
	}{
		{"AbsoluteSymlink", replace + `ln -s ` + target + ` "$BATON_OUTPUT"`, nil, true},
		// ../ up to / from wherever the output file is, then down to the
		// target: where the file lies on the host, this reaches the target.
		{"RelativeSymlink", replace + `d=$(dirname "$BATON_OUTPUT"); up=
			while [ "$d" != / ]; do up="../$up"; d=$(dirname "$d"); done
			ln -s "$up` + strings.TrimPrefix(target, "/") + `" "$BATON_OUTPUT"`, nil, true},
		{"SymlinkToOwnFile", `printf 'LEAKED=%s\n' "$MARKER" > "$BATON_OUTPUT.own" && ` + replace + `ln -s "$BATON_OUTPUT.own" "$BATON_OUTPUT"`, nil, true},
		{"SymlinkToDirectory", replace + `ln -s ` + host + ` "$BATON_OUTPUT"`, nil, true},
		{"DanglingSymlink", replace + `ln -s /baton-no-such-file-` + marker + ` "$BATON_OUTPUT"`, nil, true},
		{"Directory", replace + `mkdir "$BATON_OUTPUT" && printf 'LEAKED=%s\n' "$MARKER" > "$BATON_OUTPUT/x"`, nil, true},
		{"FIFO", replace + `mkfifo "$BATON_OUTPUT"`, nil, true},
		// /dev/zero: read without a bound it never ends.
		{"Device", replace + `{ mknod "$BATON_OUTPUT" c 1 5 || exit 42; }`, []string{"MKNOD"}, true},
		{"HardLink", replace + `{ ln ` + target + ` "$BATON_OUTPUT" 2>/dev/null || exit 43; }`, nil, true},
		// Over what is read, but under the cap an executor may put on the
		// step's output directory (2 MiB for docker's tmpfs).
		{"Oversized", `head -c ` + strconv.Itoa(oversized) + ` /dev/zero | tr '\0' a > "$BATON_OUTPUT" && printf '\nLEAKED=%s\n' "$MARKER" >> "$BATON_OUTPUT"`, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := s.newExec(t)
			spec := s.spec(t, map[string]string{"MARKER": marker}, Script{}, "sh", "-c", tc.script)
			spec.CapAdd = tc.capAdd
			h, err := s.startHostile(t, e, spec)
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), hostileTimeout)
			defer cancel()
			r, err := e.Wait(ctx, h)
			if err != nil {
				noMarker(t, "Wait error", err.Error(), marker)
				t.Fatalf("Wait: %v (a hostile output file must not hang or break the attempt)", err)
			}
			switch r.ExitCode {
			case 0:
			case exitNoMknod:
				t.Skipf("%s's steps may not mknod (as its user, even with cap_add MKNOD), so a step cannot make a device node here", e.Name())
			case exitNoHardLink:
				t.Skipf("%s's steps cannot see the host file to hard-link it, so the case does not arise", e.Name())
			default:
				t.Fatalf("ExitCode = %d, want 0: the step could not set up %s", r.ExitCode, tc.name)
			}
			noMarker(t, "Output", string(r.Output), marker)
			if r.OutputError != nil {
				noMarker(t, "OutputError", r.OutputError.Error(), marker)
				if r.Output != nil {
					t.Errorf("Output = %d bytes with OutputError %v, want none", len(r.Output), r.OutputError)
				}
			}
			if len(r.Output) > contract.MaxInputBytes+1 {
				t.Errorf("Output = %d bytes, want at most %d read", len(r.Output), contract.MaxInputBytes+1)
			}
			if tc.refused {
				if r.OutputError == nil {
					t.Errorf("OutputError = nil, Output = %q; want the output file refused", r.Output)
				} else if !strings.Contains(r.OutputError.Error(), executor.EnvOutput) {
					t.Errorf("OutputError = %v, want it to name %s", r.OutputError, executor.EnvOutput)
				}
			} else if r.OutputError == nil && len(r.Output) != contract.MaxInputBytes+1 {
				t.Errorf("Output = %d bytes of a %d-byte file, want %d, so the limit is seen", len(r.Output), oversized, contract.MaxInputBytes+1)
			}
			if len(r.Output) > 0 {
				if _, perr := contract.ParseOutputFile(r.Output); perr != nil {
					noMarker(t, "parse error", perr.Error(), marker)
				}
			}
			rctx, rcancel := context.WithTimeout(context.Background(), waitTimeout)
			defer rcancel()
			if err := e.Remove(rctx, h); err != nil {
				t.Errorf("Remove: %v", err)
			}
			if b, err := os.ReadFile(target); err != nil || string(b) != content {
				t.Errorf("link target after Remove: %q, %v; want it intact", b, err)
			}
		})
	}
}

// startHostile starts spec, dropping capabilities the executor refuses to
// grant: a step then tries without them.
func (s suite) startHostile(t *testing.T, e executor.Executor, spec *executor.Spec) (*executor.Handle, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	h, err := e.Start(ctx, spec)
	if err != nil && len(spec.CapAdd) > 0 {
		if h != nil {
			_ = e.Remove(ctx, h)
		}
		spec.CapAdd = nil
		h, err = e.Start(ctx, spec)
	}
	if h != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			if err := e.Remove(ctx, h); err != nil && !errors.Is(err, executor.ErrNotFound) {
				t.Errorf("Remove: %v", err)
			}
		})
	}
	return h, err
}

func noMarker(t *testing.T, what, text, marker string) {
	t.Helper()
	if strings.Contains(text, marker) {
		t.Errorf("%s holds the marker from a file the step pointed at: %.200q", what, text)
	}
}

// tokenFile checks that a step finds its token in the file named by
// [executor.EnvTokenFile], whatever the step's own env says.
func (s suite) tokenFile(t *testing.T) {
	t.Parallel()
	s.needsRun(t, "the token file the command reads")
	token := "tok-" + randomHex(t)
	spec := s.spec(t, map[string]string{executor.EnvTokenFile: "/ignored"}, Script{}, "sh", "-c",
		`test -n "$BATON_TOKEN_FILE" || exit 10
		test "$BATON_TOKEN_FILE" != /ignored || exit 11
		cat "$BATON_TOKEN_FILE" > "$BATON_OUTPUT" || exit 12`)
	spec.Token = token
	e := s.newExec(t)
	r := wait(t, e, start(t, e, spec))
	if r.ExitCode != 0 {
		t.Fatalf("ExitCode = %d, want 0 (10: %s unset, 11: the step's value not replaced, 12: file unreadable)",
			r.ExitCode, executor.EnvTokenFile)
	}
	if got := string(r.Output); got != token {
		t.Errorf("token file holds %q, want %q", got, token)
	}
}
