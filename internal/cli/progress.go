package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

// progress prints a line whenever a step changes state: colored symbols on a
// terminal, plain words elsewhere.
type progress struct {
	w    io.Writer
	tty  bool
	seen map[string]string // step → last printed state
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, seen: make(map[string]string)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) update(run *api.Run) {
	for _, s := range run.Steps {
		state := fmt.Sprintf("%s/%d", s.Status, len(s.Attempts))
		if p.seen[s.Name] == state || s.Status == store.StepPending {
			continue
		}
		p.seen[s.Name] = state
		p.line(s)
	}
}

func (p *progress) line(s api.Step) {
	symbol, color := "•", "0"
	switch s.Status {
	case store.StepRunning:
		symbol, color = "▶", "36"
	case store.StepRetrying:
		symbol, color = "↻", "33"
	case store.StepSucceeded:
		symbol, color = "✔", "32"
	case store.StepFailed:
		symbol, color = "✘", "31"
	case store.StepSkipped, store.StepCanceled:
		symbol, color = "–", "90"
	}
	detail := string(s.Status)
	if n := len(s.Attempts); n > 0 {
		detail += fmt.Sprintf(" (attempt %d", n)
		if a := s.Attempts[n-1]; a.StartedAt != nil && a.FinishedAt != nil {
			detail += ", " + a.FinishedAt.Sub(*a.StartedAt).Round(time.Millisecond).String()
		}
		detail += ")"
	}
	if s.Error != "" && s.Status != store.StepRunning {
		detail += ": " + api.EscapeControl(s.Error)
	}
	if p.tty {
		fmt.Fprintf(p.w, "\x1b[%sm%s\x1b[0m %-20s %s\n", color, symbol, s.Name, detail)
		return
	}
	fmt.Fprintf(p.w, "step %s: %s\n", s.Name, detail)
}
