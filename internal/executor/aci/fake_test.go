package aci

// fakeACI is a fake of Azure Container Instances, served through the
// SDK's own fake server (armcontainerinstance/v2/fake): it keeps the
// container groups baton makes and plays, for each, the script a test put
// in the step's environment (fakeScriptEnv) instead of running anything.
// So these tests prove what baton asks of Azure and how it reads the
// answers, not what Azure does with a container.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	azruntime "github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
	acifake "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2/fake"

	"github.com/baton-dev/baton/internal/executor"
)

// fakeScriptEnv carries a fakeScript, as JSON, in a step's environment.
const fakeScriptEnv = "FAKE_ACI_SCRIPT"

// fakeScript is what the fake plays for a group's step.
type fakeScript struct {
	ExitCode int32 `json:"exit_code"`
	// Logs are printed evenly over the run.
	Logs         []string `json:"logs,omitempty"`
	UntilStopped bool     `json:"until_stopped,omitempty"`
	// PullError, when set, is the message of the image pull failure the
	// step's container waits with forever.
	PullError string `json:"pull_error,omitempty"`
	// HelperExit, when set, is what the init container exits with.
	HelperExit int32 `json:"helper_exit,omitempty"`
	// StartAfter and RunFor are how long the group is created and how
	// long the step runs; zero means the fake's defaults.
	StartAfter time.Duration `json:"start_after,omitempty"`
	RunFor     time.Duration `json:"run_for,omitempty"`
}

// withScript puts sc into spec's environment.
func withScript(t *testing.T, spec *executor.Spec, sc fakeScript) {
	t.Helper()
	b, err := json.Marshal(sc)
	if err != nil {
		t.Fatal(err)
	}
	if spec.Env == nil {
		spec.Env = map[string]string{}
	}
	spec.Env[fakeScriptEnv] = string(b)
}

type fakeGroup struct {
	body    armcontainerinstance.ContainerGroup
	script  fakeScript
	created time.Time
	stopped time.Time
}

// fakeACI is the fake's state. Its zero value is not usable: see newFakeACI.
type fakeACI struct {
	clock clock
	// startAfter and runFor are the defaults of scripts that set none.
	startAfter, runFor time.Duration
	pageSize           int

	mu     sync.Mutex
	groups map[string]*fakeGroup
	// puts are the bodies of every creation, in order.
	puts []armcontainerinstance.ContainerGroup
	// failDeletes is how many deletions fail before one succeeds;
	// deletes counts every deletion asked.
	failDeletes, deletes int
	// calls counts requests by API, e.g. "ContainerGroupsClient.Get".
	calls map[string]int
	// sent are the times of every request, as the executor's clock says.
	sent []time.Time
	// throttle, when set, answers a request 429 with the Retry-After it
	// returns, or lets it through when it returns "".
	throttle func(api string) string
}

func newFakeACI(c clock) *fakeACI {
	return &fakeACI{clock: c, startAfter: 20 * time.Millisecond, runFor: 150 * time.Millisecond, pageSize: 2,
		groups: map[string]*fakeGroup{}, calls: map[string]int{}}
}

// transport serves the SDK's fake server, behind a transport that counts
// requests and answers 429 when the test says.
func (f *fakeACI) transport() policy.Transporter {
	srv := &acifake.ServerFactory{
		ContainerGroupsServer: acifake.ContainerGroupsServer{
			BeginCreateOrUpdate:         f.create,
			Get:                         f.get,
			Update:                      f.update,
			Stop:                        f.stop,
			BeginDelete:                 f.delete,
			NewListByResourceGroupPager: f.list,
		},
		ContainersServer: acifake.ContainersServer{ListLogs: f.logs},
	}
	return &countingTransport{f: f, next: acifake.NewServerFactoryTransport(srv)}
}

type countingTransport struct {
	f    *fakeACI
	next policy.Transporter
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(azruntime.CtxAPINameKey{}).(string)
	c.f.mu.Lock()
	c.f.calls[api]++
	c.f.sent = append(c.f.sent, c.f.clock.Now())
	throttle := c.f.throttle
	c.f.mu.Unlock()
	if throttle != nil {
		if after := throttle(api); after != "" {
			resp := jsonAnswer(req, http.StatusTooManyRequests, `{"error":{"code":"TooManyRequests","message":"throttled"}}`)
			resp.Header.Set("Retry-After", after)
			return resp, nil
		}
	}
	return c.next.Do(req)
}

func (f *fakeACI) count(api string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[api]
}

func (f *fakeACI) create(_ context.Context, rg, name string, g armcontainerinstance.ContainerGroup, _ *armcontainerinstance.ContainerGroupsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[armcontainerinstance.ContainerGroupsClientCreateOrUpdateResponse], errResp azfake.ErrorResponder) {
	var sc fakeScript
	for _, c := range g.Properties.Containers {
		for _, e := range c.Properties.EnvironmentVariables {
			if deref(e.Name) == fakeScriptEnv {
				if err := json.Unmarshal([]byte(deref(e.Value)), &sc); err != nil {
					errResp.SetResponseError(http.StatusBadRequest, "InvalidScript")
					return
				}
			}
		}
	}
	if sc.StartAfter == 0 {
		sc.StartAfter = f.startAfter
	}
	if sc.RunFor == 0 {
		sc.RunFor = f.runFor
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	g.Name = to.Ptr(name)
	g.ID = to.Ptr("/subscriptions/sub/resourceGroups/" + rg + "/providers/Microsoft.ContainerInstance/containerGroups/" + name)
	fg := &fakeGroup{body: g, script: sc, created: f.clock.Now()}
	f.groups[name] = fg
	f.puts = append(f.puts, g)
	resp.SetTerminalResponse(http.StatusCreated, armcontainerinstance.ContainerGroupsClientCreateOrUpdateResponse{ContainerGroup: f.view(fg)}, nil)
	return
}

func (f *fakeACI) get(_ context.Context, _, name string, _ *armcontainerinstance.ContainerGroupsClientGetOptions) (resp azfake.Responder[armcontainerinstance.ContainerGroupsClientGetResponse], errResp azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[name]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	resp.SetResponse(http.StatusOK, armcontainerinstance.ContainerGroupsClientGetResponse{ContainerGroup: f.view(g)}, nil)
	return
}

func (f *fakeACI) update(_ context.Context, _, name string, r armcontainerinstance.Resource, _ *armcontainerinstance.ContainerGroupsClientUpdateOptions) (resp azfake.Responder[armcontainerinstance.ContainerGroupsClientUpdateResponse], errResp azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[name]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	g.body.Tags = r.Tags
	resp.SetResponse(http.StatusOK, armcontainerinstance.ContainerGroupsClientUpdateResponse{ContainerGroup: f.view(g)}, nil)
	return
}

func (f *fakeACI) stop(_ context.Context, _, name string, _ *armcontainerinstance.ContainerGroupsClientStopOptions) (resp azfake.Responder[armcontainerinstance.ContainerGroupsClientStopResponse], errResp azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[name]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	if g.stopped.IsZero() {
		g.stopped = f.clock.Now()
	}
	resp.SetResponse(http.StatusNoContent, armcontainerinstance.ContainerGroupsClientStopResponse{}, nil)
	return
}

func (f *fakeACI) delete(_ context.Context, _, name string, _ *armcontainerinstance.ContainerGroupsClientBeginDeleteOptions) (resp azfake.PollerResponder[armcontainerinstance.ContainerGroupsClientDeleteResponse], errResp azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes++
	if f.failDeletes > 0 {
		f.failDeletes--
		errResp.SetResponseError(http.StatusConflict, "Conflict")
		return
	}
	if _, ok := f.groups[name]; !ok {
		resp.SetTerminalResponse(http.StatusNoContent, armcontainerinstance.ContainerGroupsClientDeleteResponse{}, nil)
		return
	}
	delete(f.groups, name)
	resp.SetTerminalResponse(http.StatusOK, armcontainerinstance.ContainerGroupsClientDeleteResponse{}, nil)
	return
}

func (f *fakeACI) list(string, *armcontainerinstance.ContainerGroupsClientListByResourceGroupOptions) (resp azfake.PagerResponder[armcontainerinstance.ContainerGroupsClientListByResourceGroupResponse]) {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := make([]string, 0, len(f.groups))
	for n := range f.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		resp.AddPage(http.StatusOK, armcontainerinstance.ContainerGroupsClientListByResourceGroupResponse{}, nil)
	}
	for len(names) > 0 {
		n := min(f.pageSize, len(names))
		var page armcontainerinstance.ContainerGroupListResult
		for _, name := range names[:n] {
			// A list gives no instance view.
			g := f.groups[name].body
			page.Value = append(page.Value, &g)
		}
		resp.AddPage(http.StatusOK, armcontainerinstance.ContainerGroupsClientListByResourceGroupResponse{ContainerGroupListResult: page}, nil)
		names = names[n:]
	}
	return
}

func (f *fakeACI) logs(_ context.Context, _, name, container string, o *armcontainerinstance.ContainersClientListLogsOptions) (resp azfake.Responder[armcontainerinstance.ContainersClientListLogsResponse], errResp azfake.ErrorResponder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[name]
	if !ok || container != stepContainer {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return
	}
	now := f.clock.Now()
	var b strings.Builder
	for i, text := range g.script.Logs {
		at := f.lineTime(g, i)
		if at.After(now) || (!g.stopped.IsZero() && at.After(g.stopped)) {
			break
		}
		if o != nil && deref(o.Timestamps) {
			b.WriteString(at.UTC().Format(time.RFC3339Nano) + " ")
		}
		b.WriteString(text + "\n")
	}
	resp.SetResponse(http.StatusOK, armcontainerinstance.ContainersClientListLogsResponse{Logs: armcontainerinstance.Logs{Content: to.Ptr(b.String())}}, nil)
	return
}

// lineTime is when the step prints its line i.
func (f *fakeACI) lineTime(g *fakeGroup, i int) time.Time {
	start := g.created.Add(g.script.StartAfter)
	if g.script.UntilStopped {
		return start.Add(time.Duration(i+1) * time.Millisecond)
	}
	return start.Add(g.script.RunFor * time.Duration(i+1) / time.Duration(len(g.script.Logs)+1))
}

// view is the group as Get shows it now: what was made, with its state.
// f.mu is held.
func (f *fakeACI) view(g *fakeGroup) armcontainerinstance.ContainerGroup {
	var out armcontainerinstance.ContainerGroup
	b, _ := json.Marshal(g.body)
	_ = json.Unmarshal(b, &out)
	now := f.clock.Now()
	p := out.Properties
	p.InstanceView = &armcontainerinstance.ContainerGroupPropertiesInstanceView{State: to.Ptr("Pending")}
	p.ProvisioningState = to.Ptr("Creating")
	step := stepOf(p)
	iv := &armcontainerinstance.ContainerPropertiesInstanceView{CurrentState: &armcontainerinstance.ContainerState{State: to.Ptr("Waiting")}}
	step.Properties.InstanceView = iv
	start := g.created.Add(g.script.StartAfter)
	sc := g.script
	switch {
	case now.Before(start):
	case sc.HelperExit != 0:
		p.ProvisioningState, p.InstanceView.State = to.Ptr("Succeeded"), to.Ptr("Failed")
		helperOf(p).Properties.InstanceView = &armcontainerinstance.InitContainerPropertiesDefinitionInstanceView{
			CurrentState: &armcontainerinstance.ContainerState{State: to.Ptr("Terminated"), ExitCode: to.Ptr(sc.HelperExit)},
		}
	case sc.PullError != "":
		p.ProvisioningState = to.Ptr("Succeeded")
		iv.Events = []*armcontainerinstance.Event{{Type: to.Ptr("Warning"), Name: to.Ptr("Failed"), Message: to.Ptr(sc.PullError), LastTimestamp: to.Ptr(start)}}
	case !g.stopped.IsZero():
		// The worst Azure could say of a stopped group: exit code 0.
		p.ProvisioningState, p.InstanceView.State = to.Ptr("Succeeded"), to.Ptr("Stopped")
		iv.CurrentState = &armcontainerinstance.ContainerState{State: to.Ptr("Terminated"), ExitCode: to.Ptr[int32](0), StartTime: to.Ptr(start), FinishTime: to.Ptr(g.stopped)}
	case !sc.UntilStopped && !now.Before(start.Add(sc.RunFor)):
		p.ProvisioningState, p.InstanceView.State = to.Ptr("Succeeded"), to.Ptr("Succeeded")
		iv.CurrentState = &armcontainerinstance.ContainerState{State: to.Ptr("Terminated"), ExitCode: to.Ptr(sc.ExitCode), StartTime: to.Ptr(start), FinishTime: to.Ptr(start.Add(sc.RunFor)), DetailStatus: to.Ptr("Completed")}
	default:
		p.ProvisioningState, p.InstanceView.State = to.Ptr("Succeeded"), to.Ptr("Running")
		iv.CurrentState = &armcontainerinstance.ContainerState{State: to.Ptr("Running"), StartTime: to.Ptr(start)}
	}
	// Azure never shows secret volumes' contents.
	for _, v := range p.Volumes {
		for k := range v.Secret {
			v.Secret[k] = nil
		}
	}
	return out
}

// fakeClock is a test's time: sleeping moves it on at once.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	if t.After(c.now) {
		c.now = t
	}
	c.mu.Unlock()
	runtime.Gosched()
	return ctx.Err()
}

// Where the fake's executors make their groups.
const (
	testRG       = "baton-steps"
	testIdentity = "/subscriptions/sub/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/baton-steps"
	testPull     = "/subscriptions/sub/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/acr-pull"
)

// fakeOptions are the options of an executor on the fake: fast polls,
// a rate that does not slow the tests, a fake credential.
func fakeOptions(f *fakeACI) Options {
	return Options{
		Subscription: "00000000-0000-0000-0000-000000000000", ResourceGroup: testRG, Location: "northeurope",
		Identity: testIdentity, RegistryIdentity: testPull,
		HelperImage: "bats.azurecr.io/baton:1", Instance: "test-instance",
		PollMin: 2 * time.Millisecond, PollMax: 20 * time.Millisecond, LogPoll: 10 * time.Millisecond,
		RequestRate: 10000, RequestBurst: 1000,
		Credential: &azfake.TokenCredential{},
		Client:     &arm.ClientOptions{ClientOptions: policy.ClientOptions{Transport: f.transport()}},
		clock:      f.clock,
	}
}

func newFakeExecutor(t *testing.T, f *fakeACI, change ...func(*Options)) *Executor {
	t.Helper()
	o := fakeOptions(f)
	for _, c := range change {
		c(&o)
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// testSpec is a spec of an attempt that plays sc.
func testSpec(t *testing.T, step string, sc fakeScript) *executor.Spec {
	t.Helper()
	spec := &executor.Spec{RunID: "run-" + randomSuffix(), Step: step, Attempt: 1, Image: "bats.azurecr.io/step:1",
		Command: []string{"sh", "-c", "true"}, Token: "tok-" + randomSuffix()}
	withScript(t, spec, sc)
	return spec
}

func (f *fakeACI) String() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fmt.Sprintf("fake ACI with %d groups, calls %v", len(f.groups), f.calls)
}

// transportFunc is a transport made of a function.
type transportFunc func(*http.Request) (*http.Response, error)

func (f transportFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// jsonAnswer is an answer of status with body.
func jsonAnswer(req *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req}
}

// manualClock is a test's time that moves only when the test says:
// sleepers wait until Advance takes the time past their wake-up.
type manualClock struct {
	mu       sync.Mutex
	now      time.Time
	sleepers map[chan struct{}]time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), sleepers: map[chan struct{}]time.Time{}}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	if !t.After(c.now) {
		c.mu.Unlock()
		return ctx.Err()
	}
	ch := make(chan struct{})
	c.sleepers[ch] = t
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.sleepers, ch)
		c.mu.Unlock()
		return ctx.Err()
	}
}

// Advance moves the time on by d and wakes whoever it is time for.
func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	for ch, t := range c.sleepers {
		if !t.After(c.now) {
			close(ch)
			delete(c.sleepers, ch)
		}
	}
}

// Sleepers is how many wait for the time to move.
func (c *manualClock) Sleepers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sleepers)
}

// waitUntil polls cond until it holds, failing the test after a generous
// bound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
