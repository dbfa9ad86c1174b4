package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/process"
	"github.com/baton-dev/baton/internal/store"
)

// TestFanOut: for_each runs one instance per item, each seeing its item
// and index, at most max_parallel at once; their outputs are gathered into
// one JSON object per name, keyed by item, which the next step sees.
func TestFanOut(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: regions
steps:
  - name: list
    command: ["` + bb + `", "sh", "-c", "echo 'regions=[\"eu\",\"us\",\"ap\"]' >> $BATON_OUTPUT"]
  - name: deploy
    for_each: '{{ .Vars.regions }}'
    max_parallel: 2
    command: ["` + bb + `", "sh", "-c", "echo url=https://$BATON_VAR_item.example/$BATON_VAR_item_index >> $BATON_OUTPUT; ` + bb + ` sleep 0.2"]
  - name: report
    command: ["` + bb + `", "sh", "-c", "echo got=$BATON_VAR_url >> $BATON_OUTPUT"]
`)
	r := h.run(name, nil)
	wantStatus(t, r, store.RunSucceeded)
	var urls map[string]string
	if err := json.Unmarshal([]byte(r.Variables["url"]), &urls); err != nil {
		t.Fatalf("gathered url %q: %v", r.Variables["url"], err)
	}
	want := map[string]string{"eu": "https://eu.example/0", "us": "https://us.example/1", "ap": "https://ap.example/2"}
	if fmt.Sprint(urls) != fmt.Sprint(want) || r.Variables["got"] != r.Variables["url"] {
		t.Errorf("gathered outputs %q, report saw %q; want %q", urls, r.Variables["got"], want)
	}
	var spans []span
	for i := range 3 {
		s := stepByName(t, r, fmt.Sprintf("deploy.%d", i))
		if s.Status != store.StepSucceeded || len(s.Attempts) != 1 {
			t.Errorf("instance %d: %s, %d attempts", i, s.Status, len(s.Attempts))
			continue
		}
		a := s.Attempts[0]
		spans = append(spans, span{*a.StartedAt, *a.FinishedAt})
	}
	if got := mostAtOnce(spans); got > 2 {
		t.Errorf("%d instances ran at once with max_parallel 2", got)
	}
}

// TestFanOutFailure: a failed instance fails the step after the others
// end, naming it; with fail_fast, no instance starts after one failed.
func TestFanOutFailure(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprint("fail_fast=", fast), func(t *testing.T) {
			t.Parallel()
			h := newProcessHarness(t)
			name := h.apply(fmt.Sprintf(`
name: partly
steps:
  - name: each
    for_each: '["a", "b", "c", "d"]'
    max_parallel: 1
    fail_fast: %v
    command: ["%s", "sh", "-c", "test $BATON_VAR_item != b"]
  - name: after
    command: ["%s", "true"]
`, fast, bb, bb))
			r := h.run(name, nil)
			wantStatus(t, r, store.RunFailed)
			s := stepByName(t, r, "each")
			if s.Status != store.StepFailed || !strings.Contains(s.Error, "each.1 (b)") {
				t.Errorf("each: %s %q", s.Status, s.Error)
			}
			wantAfter := store.StepSucceeded
			if fast {
				wantAfter = store.StepSkipped
			}
			if got := stepByName(t, r, "each.3").Status; got != wantAfter {
				t.Errorf("the last instance: %s, want %s", got, wantAfter)
			}
			if got := stepByName(t, r, "after").Status; got != store.StepSkipped {
				t.Errorf("the step after a failed fan-out: %s", got)
			}
		})
	}
}

// TestFanOutRefusedItems: for_each that gives no JSON array of strings,
// more than 1,000 items or the same item twice fails the step, saying why;
// an empty array succeeds with no instances.
func TestFanOutRefusedItems(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	for _, tc := range []struct{ items, want string }{
		{`not json`, "not a JSON array of strings"},
		{`[1, 2]`, "not a JSON array of strings"},
		{`["a", "a"]`, "are the same"},
	} {
		name := h.apply("name: bad\nsteps:\n  - name: each\n    for_each: '" + tc.items + "'\n    command: [\"" + bb + "\", \"true\"]\n")
		r := h.run(name, nil)
		if s := stepByName(t, r, "each"); s.Status != store.StepFailed || !strings.Contains(s.Error, tc.want) {
			t.Errorf("for_each %s: %s %q, want failed with %q", tc.items, s.Status, s.Error, tc.want)
		}
	}
	var many strings.Builder
	many.WriteString("[")
	for i := range 1001 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"%d"`, i)
	}
	many.WriteString("]")
	name := h.apply("name: many\nvars: {items: '" + many.String() + "'}\nsteps:\n  - name: each\n    for_each: '{{ .Vars.items }}'\n    command: [\"" + bb + "\", \"true\"]\n")
	r := h.run(name, nil)
	if s := stepByName(t, r, "each"); s.Status != store.StepFailed || !strings.Contains(s.Error, "at most 1000") {
		t.Errorf("1001 items: %s %q", s.Status, s.Error)
	}
	name = h.apply("name: none\nsteps:\n  - name: each\n    for_each: '[]'\n    command: [\"" + bb + "\", \"true\"]\n")
	wantStatus(t, h.run(name, nil), store.RunSucceeded)
}

// TestFanOutCanceled: canceling a run stops its running instances and
// starts no more; the fan-out step ends canceled.
func TestFanOutCanceled(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: long
steps:
  - name: each
    for_each: '["a", "b", "c"]'
    max_parallel: 1
    command: ["` + bb + `", "sleep", "30"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		a, err := h.st.AttemptGet(ctx, run.ID, "each.0", 1)
		return err == nil && len(a.Handle) > 0
	})
	if err := h.eng.Cancel(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.eng.Wait(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	r := h.detail(run.ID)
	wantStatus(t, r, store.RunCanceled)
	for _, n := range []string{"each", "each.0", "each.1", "each.2"} {
		if s := stepByName(t, r, n); s.Status != store.StepCanceled {
			t.Errorf("%s after cancel: %s", n, s.Status)
		}
	}
}

// TestFanOutAfterRestart: a server stopped during a fan-out; the next one
// keeps the instances that ended, goes on with the others, and gathers
// every instance's output once.
func TestFanOutAfterRestart(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	dir := t.TempDir()
	goFile := filepath.Join(dir, "go")
	h := newHarness(t, process.New(process.Options{Dir: filepath.Join(dir, "p1")}), "", "")
	name := h.apply(`
name: resumed
steps:
  - name: each
    for_each: '["a", "b", "c"]'
    max_parallel: 1
    retry: {limit: 1, backoff: 10ms}
    command: ["` + bb + `", "sh", "-c", "if [ $BATON_VAR_item != a ]; then until [ -e ` + goFile + ` ]; do ` + bb + ` sleep 0.05; done; fi; echo n=$BATON_VAR_item_index >> $BATON_OUTPUT"]
`)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	run, err := h.eng.Submit(ctx, &engine.SubmitParams{Pipeline: name})
	if err != nil {
		t.Fatal(err)
	}
	got := restartOnProcess(t, h, dir, run.ID, "each.1", goFile)
	if got.Status != store.RunSucceeded {
		t.Fatalf("run after a restart mid fan-out: %s (%s)", got.Status, got.Error)
	}
	steps, err := h.st.StepList(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		switch s.Name {
		case "each":
			if s.Outputs["n"] != `{"a":"0","b":"1","c":"2"}` {
				t.Errorf("gathered after the restart: %q", s.Outputs["n"])
			}
		case "each.0":
			if s.Attempts != 1 {
				t.Errorf("the instance that ended before the restart ran %d times", s.Attempts)
			}
		}
	}
	if len(steps) != 4 {
		t.Errorf("%d step rows after the restart, want the step and its 3 instances", len(steps))
	}
}

// TestFanOutFailFastStops: with fail_fast, the instances running when one
// fails are stopped, end canceled and are not tried again.
func TestFanOutFailFastStops(t *testing.T) {
	t.Parallel()
	bb := busybox(t)
	h := newProcessHarness(t)
	name := h.apply(`
name: fast
steps:
  - name: each
    for_each: '["slow1", "slow2", "bad"]'
    fail_fast: true
    retry: {limit: 3, backoff: 10ms}
    command: ["` + bb + `", "sh", "-c", "if [ $BATON_VAR_item = bad ]; then ` + bb + ` sleep 0.5; exit 1; fi; exec ` + bb + ` sleep 60"]
`)
	r := h.run(name, nil) // were they not stopped, their sleep would succeed
	wantStatus(t, r, store.RunFailed)
	for _, n := range []string{"each.0", "each.1"} {
		s := stepByName(t, r, n)
		if s.Status != store.StepCanceled || len(s.Attempts) != 1 || !strings.Contains(s.Error, "fails fast") {
			t.Errorf("%s: %s after %d attempts (%q), want canceled once, stopped", n, s.Status, len(s.Attempts), s.Error)
		}
	}
}
