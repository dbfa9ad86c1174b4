package sqlrow

import (
	"bytes"
	"fmt"
	"maps"
	"slices"

	"github.com/baton-dev/baton/internal/store"
)

// Run is a run [store.Store.RunCreate] is to insert: the values of its
// columns, and the row it returns once inserted.
type Run struct {
	// Row is the run as a read gives it back: queued, created at p.Now and,
	// when p names an owner, leased to it at epoch 1.
	Row *store.RunRow
	// Params and Vars are encoded by [EncodeMap].
	Params, Vars *string
	// Done holds, for each step that starts succeeded, its encoded outputs.
	Done map[string]*string
}

// NewRun checks p ([store.CheckRunCreate]) and encodes what of it goes
// into columns. Errors say what of p was wrong, without p's ID: the caller
// names the run.
func NewRun(p *store.RunCreateParams) (*Run, error) {
	if err := store.CheckRunCreate(p); err != nil {
		return nil, err
	}
	done := make(map[string]*string, len(p.Done))
	for _, name := range slices.Sorted(maps.Keys(p.Done)) {
		enc, err := EncodeMap(p.Done[name])
		if err != nil {
			return nil, fmt.Errorf("outputs of done step %q: %w", name, err)
		}
		done[name] = enc
	}
	params, err := EncodeMap(p.Params)
	if err != nil {
		return nil, fmt.Errorf("params: %w", err)
	}
	vars, err := EncodeMap(p.Vars)
	if err != nil {
		return nil, fmt.Errorf("vars: %w", err)
	}
	var lease store.Lease
	if p.Owner != "" {
		lease = store.Lease{Owner: p.Owner, Epoch: 1, Until: FromUnixNano(UnixNano(p.LeaseUntil))}
	}
	return &Run{
		Row: &store.RunRow{
			ID:        p.ID,
			Pipeline:  p.Pipeline,
			Revision:  p.Revision,
			Status:    store.RunQueued,
			Params:    CloneMap(p.Params),
			Vars:      CloneMap(p.Vars),
			Executor:  p.Executor,
			RetryOf:   p.RetryOf,
			CreatedAt: FromUnixNano(UnixNano(p.Now)),
			Lease:     lease,
			Parent:    p.Parent,
		},
		Params: params,
		Vars:   vars,
		Done:   done,
	}, nil
}

// NewPipeline is the revision [store.Store.PipelinePut] stores for p, as a
// read gives it back: its spec is never nil.
func NewPipeline(p *store.PipelinePutParams, revision int) *store.PipelineRow {
	spec := bytes.Clone(p.Spec)
	if spec == nil {
		spec = []byte{}
	}
	return &store.PipelineRow{
		Name:      p.Name,
		Revision:  revision,
		Spec:      spec,
		CreatedAt: FromUnixNano(UnixNano(p.Now)),
	}
}

// NewToken is the token [store.Store.TokenCreate] stores for p, as a read
// gives it back.
func NewToken(p *store.TokenCreateParams) *store.TokenRow {
	return &store.TokenRow{
		Name:      p.Name,
		Role:      p.Role,
		Hash:      bytes.Clone(p.Hash),
		CreatedAt: FromUnixNano(UnixNano(p.Now)),
	}
}

// Finish is what [store.Store.StepFinish] writes for its params, in the
// values of the columns of the step and of its attempt.
type Finish struct {
	// AttemptStatus is what the attempt ends as; see
	// [store.FinishedAttemptStatus].
	AttemptStatus store.StepStatus
	// Outputs are the step's outputs, encoded, when it succeeded; nil
	// otherwise, when the step's stored outputs stay as they are.
	Outputs *string
	// Now is when the attempt ended; Finished is that too when the step's
	// new status is terminal, else 0: a step going to retry has not ended.
	Now, Finished int64
	ExitCode      *int64
}

// NewFinish checks p's status and encodes what of p goes into columns.
func NewFinish(p *store.StepFinishParams) (*Finish, error) {
	attemptStatus, err := store.FinishedAttemptStatus(p.Status)
	if err != nil {
		return nil, err
	}
	f := &Finish{AttemptStatus: attemptStatus, Now: UnixNano(p.Now), ExitCode: ExitCode(p.ExitCode)}
	if p.Status == store.StepSucceeded {
		if f.Outputs, err = EncodeMap(p.Outputs); err != nil {
			return nil, fmt.Errorf("outputs: %w", err)
		}
	}
	if p.Status.Terminal() {
		f.Finished = f.Now
	}
	return f, nil
}
