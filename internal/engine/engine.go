// Package engine runs pipelines: it creates runs, starts each step as soon as
// the steps it needs have succeeded, retries, times out and cancels attempts,
// merges outputs into the variables later steps see, archives logs and removes
// what every attempt created. Every state change goes through the store first.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/failpoint"
	"github.com/baton-dev/baton/internal/metrics"
	"github.com/baton-dev/baton/internal/pipeline"
	"github.com/baton-dev/baton/internal/store"
)

// Config is what an [Engine] needs. Store and an executor (Executors, or
// Executor) are required.
type Config struct {
	Store store.Store
	// Executors are where steps run, by registry name: the name pipelines
	// pick them with (executor:), and the one their handles are stored
	// with.
	Executors map[string]executor.Executor
	// DefaultExecutor names the one of Executors that runs the steps of
	// pipelines that name none. It may be left empty when there is one.
	DefaultExecutor string
	// Executor is the short form of an engine with a single executor:
	// when Executors is empty, the engine has this one, named by its
	// [executor.Executor.Name].
	Executor executor.Executor
	// CallbackURL is the base URL of baton's API as a step sees it, e.g.
	// http://host.docker.internal:8080. Empty means steps get no callback.
	CallbackURL string
	// CallbackURLs, by executor name, replace CallbackURL for the steps of
	// that executor: a container reaches the API at another address than a
	// local process does.
	CallbackURLs map[string]string
	Logger       *slog.Logger
	// StopGrace is how long a stopped step may take to exit before it is
	// killed. Default 10s.
	StopGrace time.Duration
	// LogFlush is how often a running step's new log lines are stored.
	// Default 200ms.
	LogFlush time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// MaxParallel bounds the step attempts running at once across all runs;
	// 0 means no bound. Steps beyond it wait, pending.
	MaxParallel int
	// Secrets opens the secrets steps declare; nil means none can be used.
	Secrets SecretSource
	// ImagePolicy, if set, refuses images steps may not run, before any
	// container is created.
	ImagePolicy func(image string) error
	// AllowCaps are the Linux capabilities steps may add back.
	AllowCaps []string
	// DefaultLimits apply to steps that set no resources of their own.
	DefaultLimits executor.Limits
	// Metrics receives counts; nil makes a fresh set, see [Engine.Metrics].
	Metrics *metrics.Metrics
	// Sealer seals what each attempt starts with (its token and secrets),
	// kept with the attempt so a restarted server masks it the same; see
	// [Sealer]. Nil seals with a key that dies with the process.
	Sealer Sealer
	// LogCap bounds the bytes of output stored per attempt. Past it, baton
	// keeps the first part and the last lines (up to [LogTailBytes] of
	// them) and stores, between the two, a line saying how much was cut;
	// the attempt records it too. 0 means [DefaultLogCap].
	LogCap int64
	// MissingTriggers are the kinds of trigger this server cannot run,
	// each with why and how to get one that can: [Engine.Apply] refuses
	// pipelines that have one (see [pipeline.Options.MissingTriggers]).
	MissingTriggers map[string]string
	// ServerID names this server in the run leases it holds; empty means a
	// new random name, as a restarted server is a new owner.
	ServerID string
	// Lease is how long this server holds a run without renewing it (it
	// renews every third of it); 0 means [DefaultLease].
	Lease time.Duration
	// Shared says other servers drive runs from the same store: the engine
	// then claims only runs whose server's lease ended, goes on claiming
	// those as servers die, and reads every attempt's posted outputs from
	// the store, as a callback may reach any server. When false, it takes
	// every unfinished run at [Engine.Resume], whatever its lease: nobody
	// else can hold the store.
	Shared bool
	// CleanupRetry is the first wait before removals that failed are tried
	// again (then it doubles, up to 10 minutes, while some still fail);
	// 0 means 30s.
	CleanupRetry time.Duration
	// Signals, if set, carries cancels and run changes between the servers
	// sharing the store; without it another server's cancel takes effect
	// at the owner's next lease renewal, and watchers of a run another
	// server drives wake at their own pace.
	Signals store.Signaler
}

// DefaultLogCap is the per-attempt log cap when [Config.LogCap] is 0.
const DefaultLogCap = 64 << 20

// LogTailBytes is the most of a cut log's last lines that is kept: an
// eighth of the cap, at most 1 MiB.
func LogTailBytes(logCap int64) int64 { return min(logCap/8, 1<<20) }

// Errors callers map to their own responses.
var (
	// ErrInvalid wraps every rejection of bad input: params, specs.
	ErrInvalid = errors.New("invalid input")
	// ErrFinished is returned when a run is asked to change after it ended.
	ErrFinished = errors.New("run already finished")
)

var (
	errCanceled = errors.New("canceled by request")
	errShutdown = errors.New("engine shutting down")
	// errRunTimeout ends a run that outlived its pipeline's timeout.
	errRunTimeout = errors.New("run timed out")
)

// Engine runs pipelines. It is safe for concurrent use.
type Engine struct {
	cfg Config
	st  store.Store
	// execs are the executors by registry name; names lists them sorted;
	// def is the default's name.
	execs   map[string]executor.Executor
	names   []string
	def     string
	log     *slog.Logger
	changes *changes

	ctx  context.Context
	stop context.CancelCauseFunc
	wg   sync.WaitGroup

	// posted marks attempts that posted outputs through the callback in this
	// life of the engine, so the others need no store read at their end.
	posted sync.Map
	// maskers hold, per running attempt, what must never appear in its logs
	// or outputs: its secrets and token.
	maskers sync.Map

	// slots bounds the attempts running at once; nil means no bound.
	slots chan struct{}
	// beating starts the lease heartbeat with the first run driven.
	beating sync.Once

	mu    sync.Mutex
	gates map[string]*gate
	runs  map[string]*runner
	specs map[specKey]*pipeline.Spec
}

type specKey struct {
	name     string
	revision int
}

// New returns an engine. It starts nothing until [Engine.Resume] or
// [Engine.Submit] is called.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("engine: a store is required")
	}
	execs, def, err := executorSet(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	if cfg.LogFlush <= 0 {
		cfg.LogFlush = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.LogCap <= 0 {
		cfg.LogCap = DefaultLogCap
	}
	if cfg.ServerID == "" {
		cfg.ServerID = newServerID()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	var slots chan struct{}
	if cfg.MaxParallel > 0 {
		slots = make(chan struct{}, cfg.MaxParallel)
	}
	ctx, stop := context.WithCancelCause(context.Background())
	e := &Engine{
		cfg:     cfg,
		execs:   execs,
		names:   slices.Sorted(maps.Keys(execs)),
		def:     def,
		log:     cfg.Logger,
		changes: newChanges(),
		ctx:     ctx,
		stop:    stop,
		runs:    make(map[string]*runner),
		gates:   make(map[string]*gate),
		slots:   slots,
		specs:   make(map[specKey]*pipeline.Spec),
	}
	// The runs' writes outlast a full disk; see durable.
	e.st = &durable{Store: cfg.Store, e: e}
	return e, nil
}

// Metrics returns the engine's metrics.
func (e *Engine) Metrics() *metrics.Metrics { return e.cfg.Metrics }

// Executors returns the registry names of the engine's executors, sorted.
func (e *Engine) Executors() []string { return slices.Clone(e.names) }

// DefaultExecutor returns the name of the executor that runs the steps of
// pipelines that name none.
func (e *Engine) DefaultExecutor() string { return e.def }

// Apply validates a pipeline definition and stores it, as a new revision when
// it changed. A definition naming an executor the engine does not have is
// refused, and so is a step its executor can tell it cannot run.
func (e *Engine) Apply(ctx context.Context, filename string, data []byte) (*store.PipelineRow, *pipeline.Spec, error) {
	spec, err := pipeline.ParseWith(filename, data, &pipeline.Options{Executors: e.names, MissingTriggers: e.cfg.MissingTriggers})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := e.checkSteps(spec); err != nil {
		return nil, nil, fmt.Errorf("%w: pipeline %q: %w", ErrInvalid, spec.Name, err)
	}
	if err := e.checkSubPipelines(ctx, spec); err != nil {
		return nil, nil, err
	}
	row, err := e.st.PipelinePut(ctx, &store.PipelinePutParams{Name: spec.Name, Spec: data, Now: e.cfg.Now()})
	if err != nil {
		return nil, nil, fmt.Errorf("engine: store pipeline %q: %w", spec.Name, err)
	}
	e.mu.Lock()
	e.specs[specKey{row.Name, row.Revision}] = spec
	e.mu.Unlock()
	return row, spec, nil
}

// Spec returns the parsed definition of one pipeline revision (0: latest).
func (e *Engine) Spec(ctx context.Context, name string, revision int) (*pipeline.Spec, int, error) {
	if revision > 0 {
		e.mu.Lock()
		spec, ok := e.specs[specKey{name, revision}]
		e.mu.Unlock()
		if ok {
			return spec, revision, nil
		}
	}
	row, err := e.st.PipelineGet(ctx, name, revision)
	if err != nil {
		return nil, 0, fmt.Errorf("engine: pipeline %q: %w", name, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := specKey{row.Name, row.Revision}
	if spec, ok := e.specs[key]; ok {
		return spec, row.Revision, nil
	}
	spec, err := pipeline.Parse(row.Name+".yaml", row.Spec)
	if err != nil {
		return nil, 0, fmt.Errorf("engine: stored pipeline %q revision %d: %w", name, row.Revision, err)
	}
	e.specs[key] = spec
	return spec, row.Revision, nil
}

// SubmitParams are the arguments of [Engine.Submit].
type SubmitParams struct {
	Pipeline string
	Revision int // 0: latest
	Params   map[string]string
	// Serial makes the run wait until no other run of the pipeline is
	// running, as a schedule with overlap: queue asks.
	Serial bool
	// Key, when not empty, names the event that asks for the run, such as
	// a queue message: while a run with the same Key exists, Submit starts
	// nothing and returns that run with a [*store.RunKeyExistsError].
	Key string
}

// Submit creates a run and starts it. Bad params are an error wrapping
// [ErrInvalid], and then no run is created. The run is durable once Submit
// returns it, even with an error.
func (e *Engine) Submit(ctx context.Context, p *SubmitParams) (*store.RunRow, error) {
	spec, rev, err := e.Spec(ctx, p.Pipeline, p.Revision)
	if err != nil {
		return nil, err
	}
	run, err := e.create(ctx, spec, rev, p.Params, nil, createOpts{exec: e.runExecutor(spec), key: p.Key})
	if err != nil {
		return run, err
	}
	if err := e.start(run, spec, p.Serial); err != nil {
		return run, err
	}
	return run, nil
}

// create resolves a run's params and variables and stores it, for the
// executor named exec, with key (see [SubmitParams.Key]). A run that needs
// an executor the engine does not have is refused: nothing here could run
// it. A taken key returns the run that has it, with the store's error.
// createOpts are what a run may be created with besides its params.
type createOpts struct {
	retryOf string // the run it re-runs
	exec    string // the executor it is made for
	key     string // see [store.RunCreateParams.Key]
	parent  store.RunParent
}

func (e *Engine) create(ctx context.Context, spec *pipeline.Spec, rev int, given map[string]string, done map[string]map[string]string, o createOpts) (*store.RunRow, error) {
	retryOf, exec, key := o.retryOf, o.exec, o.key
	if name := e.lacking(exec, spec); name != "" {
		return nil, fmt.Errorf("%w: pipeline %q runs steps on executor %q, which this server does not have (it has %s); change the pipeline's executor:, or start the server with that executor",
			ErrInvalid, spec.Name, name, e.quotedNames())
	}
	params, err := spec.ResolveParams(given)
	if err != nil {
		return nil, fmt.Errorf("%w: pipeline %q: %w", ErrInvalid, spec.Name, err)
	}
	now := e.cfg.Now()
	id := newRunID(now)
	vars, err := spec.ResolveVars(params, pipeline.RunFacts{ID: id, Time: now})
	if err != nil {
		return nil, fmt.Errorf("%w: pipeline %q: %w", ErrInvalid, spec.Name, err)
	}
	steps := make([]string, len(spec.Steps))
	for i, s := range spec.Steps {
		steps[i] = s.Name
	}
	run, err := e.st.RunCreate(ctx, &store.RunCreateParams{
		ID: id, Pipeline: spec.Name, Revision: rev, Params: params, Vars: vars,
		Executor: exec, Steps: steps, Done: done, RetryOf: retryOf, Now: now,
		Owner: e.cfg.ServerID, LeaseUntil: now.Add(e.cfg.Lease), Key: key, Parent: o.parent,
	})
	var taken *store.RunKeyExistsError
	if errors.As(err, &taken) {
		return taken.Run, fmt.Errorf("engine: create run of %q: %w", spec.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("engine: create run of %q: %w", spec.Name, err)
	}
	e.cfg.Metrics.RunsStarted.WithLabelValues(spec.Name).Inc()
	failpoint.Hit(failpoint.RunAccepted)
	e.log.Info("run accepted", "run_id", id, "pipeline", spec.Name, "revision", rev, "retry_of", retryOf)
	return run, nil
}

// Resume picks up every unfinished run this engine may drive, as after a
// restart: all of them when it alone opens the store, else those whose
// server's lease ended (see [Config.Shared]).
func (e *Engine) Resume(ctx context.Context) error {
	e.beat()
	runs, err := e.claim(ctx, 0)
	if err != nil {
		return err
	}
	return e.drive(ctx, runs)
}

func (e *Engine) start(run *store.RunRow, spec *pipeline.Spec, serial bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return fmt.Errorf("engine: run %s accepted but not started: %w", run.ID, errShutdown)
	}
	if r, ok := e.runs[run.ID]; ok {
		if !run.CancelRequestedAt.IsZero() {
			r.cancel(errCanceled)
		}
		return nil
	}
	e.beatLocked()
	own := *run // the runner changes its copy; the caller keeps its own
	r := newRunner(e, &own, spec)
	r.serial = serial
	e.runs[run.ID] = r
	e.wg.Add(1)
	e.cfg.Metrics.RunsActive.Inc()
	go func() {
		defer e.wg.Done()
		defer e.cfg.Metrics.RunsActive.Dec()
		r.loop()
		e.mu.Lock()
		delete(e.runs, run.ID)
		e.mu.Unlock()
		e.changes.signal(run.ID)
	}()
	return nil
}

// Cancel stops a run: running steps are stopped and removed, pending ones
// never start. The request is stored before Cancel returns, so a server
// that dies before the run has ended goes on canceling it when it starts
// again ([Engine.Resume]).
func (e *Engine) Cancel(ctx context.Context, runID string) error {
	// Not retried: the client hears that the cancel was not recorded.
	run, err := e.cfg.Store.RunRequestCancel(ctx, &store.RunRequestCancelParams{ID: runID, Now: e.cfg.Now()})
	if errors.Is(err, store.ErrConflict) {
		if run, gerr := e.cfg.Store.RunGet(ctx, runID); gerr == nil {
			return fmt.Errorf("engine: cancel run %s: it is %s: %w", runID, run.Status, ErrFinished)
		}
		return fmt.Errorf("engine: cancel run %s: %w", runID, ErrFinished)
	}
	if err != nil {
		return fmt.Errorf("engine: cancel run %s: %w", runID, err)
	}
	// The run's runner cancels it: here, or on the server that holds it,
	// told by a signal or at its next lease renewal. A run nobody drives
	// (left by an earlier life, not yet resumed) is claimed and gets a
	// runner here, which stops what runs.
	e.mu.Lock()
	r, ok := e.runs[runID]
	e.mu.Unlock()
	if ok {
		r.cancel(errCanceled)
		return nil
	}
	if _, ok := e.execs[run.Executor]; ok {
		claimed, err := e.claim(ctx, 1, runID)
		if err != nil {
			return fmt.Errorf("engine: cancel run %s: it is recorded, and its server will act on it: %w", runID, err)
		}
		if len(claimed) == 0 {
			e.signal(ctx, store.SignalCancel, runID)
			return nil // another server drives it
		}
		run = claimed[0]
		spec, _, err := e.Spec(ctx, run.Pipeline, run.Revision)
		switch {
		case err != nil:
			e.log.Warn("cancel a run without its pipeline", "run_id", runID, "err", err)
		case e.lacking(run.Executor, spec) == "":
			err = e.start(run, spec, false)
			if err == nil || errors.Is(err, errShutdown) {
				return nil // canceling, or recorded for the next life to cancel
			}
			e.log.Warn("cancel a run", "run_id", runID, "err", err)
		}
	}
	// Another executor's run, or one whose pipeline is gone: nothing of it
	// runs here, so it ends here; a server with its executor removes what
	// it left.
	now := e.cfg.Now()
	notes := e.endNotifications(ctx, run, store.RunCanceled, errCanceled.Error(), now)
	err = e.cfg.Store.RunSetStatus(ctx, &store.RunSetStatusParams{ID: runID, Status: store.RunCanceled, Error: errCanceled.Error(), Now: now, Notify: notes})
	e.changes.signal(runID)
	if err != nil && !errors.Is(err, store.ErrConflict) { // a conflict: it ended meanwhile
		return fmt.Errorf("engine: cancel run %s: %w", runID, err)
	}
	return nil
}

// Changed returns a channel closed at the next change of the run: a step
// started or ended, logs were stored, the run ended.
func (e *Engine) Changed(runID string) <-chan struct{} { return e.changes.watch(runID) }

// Wait blocks until the run has ended and returns it.
func (e *Engine) Wait(ctx context.Context, runID string) (*store.RunRow, error) {
	for {
		changed := e.changes.watch(runID)
		run, err := e.st.RunGet(ctx, runID)
		if err != nil {
			return nil, fmt.Errorf("engine: wait for run %s: %w", runID, err)
		}
		if run.Status.Terminal() {
			return run, nil
		}
		if !e.waitChange(ctx, runID, changed) {
			return run, ctx.Err()
		}
	}
}

// Close stops the engine without touching running steps: they keep running,
// and a later [Engine.Resume] re-attaches to them. It returns once every
// run's goroutines have ended or ctx is done.
func (e *Engine) Close(ctx context.Context) error {
	e.mu.Lock()
	driven := slices.Collect(maps.Keys(e.runs))
	e.mu.Unlock()
	e.stop(errShutdown)
	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		// What ran goes on; the next server to claim it re-attaches.
		e.release(ctx, driven)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("engine: close: %w", ctx.Err())
	}
}
