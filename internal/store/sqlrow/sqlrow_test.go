package sqlrow_test

import (
	"maps"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
	"github.com/baton-dev/baton/internal/store/sqlrow"
)

func TestTimes(t *testing.T) {
	if n := sqlrow.UnixNano(time.Time{}); n != 0 {
		t.Errorf("UnixNano of the zero time: %d, want 0", n)
	}
	if got := sqlrow.FromUnixNano(0); !got.IsZero() {
		t.Errorf("FromUnixNano(0): %v, want the zero time", got)
	}
	at := time.Date(2026, 3, 1, 13, 0, 0, 123456789, time.FixedZone("x", 3600))
	back := sqlrow.FromUnixNano(sqlrow.UnixNano(at))
	if !back.Equal(at) || back.Location() != time.UTC {
		t.Errorf("a time stored and read back: %v, want %v in UTC", back, at)
	}
}

func TestMaps(t *testing.T) {
	for _, m := range []map[string]string{nil, {}} {
		enc, err := sqlrow.EncodeMap(m)
		if enc != nil || err != nil {
			t.Errorf("EncodeMap(%#v): %v, %v; want NULL", m, enc, err)
		}
	}
	m := map[string]string{"A": "1", "nul": "a\x00b", "ctl": "\x01\n", "": "empty key"}
	enc, err := sqlrow.EncodeMap(m)
	if err != nil || enc == nil {
		t.Fatalf("EncodeMap: %v, %v", enc, err)
	}
	for i := 0; i < len(*enc); i++ {
		if (*enc)[i] < 0x20 {
			t.Fatalf("EncodeMap left control byte %#x in %q", (*enc)[i], *enc)
		}
	}
	back, err := sqlrow.DecodeMap(enc)
	if err != nil || !maps.Equal(back, m) {
		t.Fatalf("DecodeMap(EncodeMap(m)): %v, %v; want %v", back, err, m)
	}
	for _, s := range []string{"", "{}"} {
		if got, err := sqlrow.DecodeMap(&s); got != nil || err != nil {
			t.Errorf("DecodeMap(%q): %v, %v; want a nil map", s, got, err)
		}
	}
	if got, err := sqlrow.DecodeMap(nil); got != nil || err != nil {
		t.Errorf("DecodeMap(NULL): %v, %v; want a nil map", got, err)
	}
	bad := `["not", "an object"]`
	if _, err := sqlrow.DecodeMap(&bad); err == nil {
		t.Error("DecodeMap of a JSON array: got no error")
	}

	if got := sqlrow.CloneMap(map[string]string{}); got != nil {
		t.Errorf("CloneMap of an empty map: %v, want nil", got)
	}
	c := sqlrow.CloneMap(m)
	c["A"] = "changed"
	if m["A"] != "1" {
		t.Error("CloneMap shares the map it copies")
	}
}

func TestExitCodes(t *testing.T) {
	if sqlrow.ExitCode(nil) != nil || sqlrow.FromExitCode(nil) != nil {
		t.Error("no exit code is not NULL")
	}
	for _, c := range []int{0, 1, 137, -1} {
		if got := sqlrow.FromExitCode(sqlrow.ExitCode(&c)); got == nil || *got != c {
			t.Errorf("exit code %d stored and read back: %v", c, got)
		}
	}
}

func TestNewRun(t *testing.T) {
	now := time.Date(2026, 3, 1, 13, 0, 0, 5, time.FixedZone("x", 3600))
	p := &store.RunCreateParams{
		ID: "r", Pipeline: "p", Revision: 2, Executor: "docker", RetryOf: "q",
		Params: map[string]string{"P": "1"},
		Steps:  []string{"a", "b", "c"},
		Done:   map[string]map[string]string{"a": {"OUT": "x"}, "b": nil},
		Now:    now, Owner: "srv", LeaseUntil: now.Add(time.Minute),
	}
	run, err := sqlrow.NewRun(p)
	if err != nil {
		t.Fatalf("NewRun: %v", err)
	}
	row := run.Row
	if row.ID != "r" || row.Pipeline != "p" || row.Revision != 2 || row.Executor != "docker" || row.RetryOf != "q" ||
		row.Status != store.RunQueued || !row.CreatedAt.Equal(now) || row.CreatedAt.Location() != time.UTC {
		t.Errorf("the row: %+v", row)
	}
	if row.Lease.Owner != "srv" || row.Lease.Epoch != 1 || !row.Lease.Until.Equal(now.Add(time.Minute)) {
		t.Errorf("the lease: %+v, want srv's at epoch 1", row.Lease)
	}
	if row.Vars != nil || !maps.Equal(row.Params, p.Params) {
		t.Errorf("the row's maps: params %v, vars %v", row.Params, row.Vars)
	}
	p.Params["P"] = "changed"
	if row.Params["P"] != "1" {
		t.Error("the row shares the params' map")
	}
	if run.Vars != nil || run.Params == nil || *run.Params != `{"P":"1"}` {
		t.Errorf("the encoded maps: params %v, vars %v", run.Params, run.Vars)
	}
	if len(run.Done) != 2 || run.Done["a"] == nil || *run.Done["a"] != `{"OUT":"x"}` || run.Done["b"] != nil {
		t.Errorf("the done steps' outputs: %v", run.Done)
	}
	if _, ok := run.Done["b"]; !ok {
		t.Error("a done step without outputs is missing from Done")
	}

	noOwner, err := sqlrow.NewRun(&store.RunCreateParams{ID: "r", Steps: []string{"a"}, LeaseUntil: now})
	if err != nil || noOwner.Row.Lease != (store.Lease{}) || !noOwner.Row.CreatedAt.IsZero() {
		t.Errorf("a run without an owner: %+v, %v; want no lease", noOwner, err)
	}
	if _, err := sqlrow.NewRun(&store.RunCreateParams{ID: "r", Steps: []string{"a", "a"}}); err == nil || err.Error() != `step "a" listed twice` {
		t.Errorf("NewRun of a step listed twice: %v", err)
	}
}

func TestNewFinish(t *testing.T) {
	now := time.Unix(100, 7)
	code := 3
	for _, tc := range []struct {
		status   store.StepStatus
		attempt  store.StepStatus
		outputs  bool
		finished bool
	}{
		{store.StepSucceeded, store.StepSucceeded, true, true},
		{store.StepFailed, store.StepFailed, false, true},
		{store.StepRetrying, store.StepFailed, false, false},
		{store.StepSkipped, store.StepCanceled, false, true},
		{store.StepCanceled, store.StepCanceled, false, true},
	} {
		f, err := sqlrow.NewFinish(&store.StepFinishParams{Status: tc.status, ExitCode: &code,
			Outputs: map[string]string{"K": "v"}, Now: now})
		if err != nil {
			t.Fatalf("%s: %v", tc.status, err)
		}
		if f.AttemptStatus != tc.attempt || (f.Outputs != nil) != tc.outputs || f.Now != now.UnixNano() ||
			(f.Finished == f.Now) != tc.finished || (!tc.finished && f.Finished != 0) || f.ExitCode == nil || *f.ExitCode != 3 {
			t.Errorf("%s: %+v", tc.status, f)
		}
	}
	if _, err := sqlrow.NewFinish(&store.StepFinishParams{Status: store.StepPending}); err == nil {
		t.Error("NewFinish of a pending step: got no error")
	}
}

func TestNewPipelineAndToken(t *testing.T) {
	now := time.Date(2026, 3, 1, 13, 0, 0, 0, time.FixedZone("x", 3600))
	spec := []byte("steps: []")
	row := sqlrow.NewPipeline(&store.PipelinePutParams{Name: "p", Spec: spec, Now: now}, 4)
	spec[0] = 'X'
	if row.Name != "p" || row.Revision != 4 || string(row.Spec) != "steps: []" || !row.CreatedAt.Equal(now) || row.CreatedAt.Location() != time.UTC {
		t.Errorf("NewPipeline: %+v", row)
	}
	if row := sqlrow.NewPipeline(&store.PipelinePutParams{Name: "p"}, 1); row.Spec == nil || len(row.Spec) != 0 {
		t.Errorf("NewPipeline of no spec: %#v, want an empty, non-nil spec", row.Spec)
	}
	hash := []byte{1, 2}
	tok := sqlrow.NewToken(&store.TokenCreateParams{Name: "t", Role: "admin", Hash: hash, Now: now})
	hash[0] = 9
	if tok.Name != "t" || tok.Role != "admin" || tok.Hash[0] != 1 || !tok.CreatedAt.Equal(now) || !tok.RevokedAt.IsZero() {
		t.Errorf("NewToken: %+v", tok)
	}
}
