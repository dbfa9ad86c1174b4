package aci

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/baton-dev/baton/internal/executor"
)

// TestMain keeps azidentity off the instance metadata service: should a
// test build a managed identity credential by mistake, it asks a closed
// port on this machine, never 169.254.169.254.
func TestMain(m *testing.M) {
	os.Setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:1/msi/token")
	os.Setenv("IDENTITY_HEADER", "not-a-real-header")
	os.Unsetenv("MSI_ENDPOINT")
	os.Exit(m.Run())
}

// testTimeout bounds every test's calls, so a broken executor fails
// instead of hanging.
const testTimeout = time.Minute

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// TestCreateRunSucceed: one group per attempt, made as the issue asks, is
// waited for to its exit and removed; after that it is not found.
func TestCreateRunSucceed(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	e := newFakeExecutor(t, f)
	ctx := testContext(t)
	spec := testSpec(t, "Build Image", fakeScript{})
	spec.Env["BATON_VAR_X"] = "hello $(x) ${y}"
	spec.Env[executor.EnvTokenFile] = "/step/set/this"
	spec.Secrets = map[string][]byte{"db-password": []byte("hunter2\x00\xff")}
	spec.Env["API_KEY"] = "hunter2-as-a-variable"
	spec.SecretEnv = []string{"API_KEY"}
	spec.Limits = executor.Limits{NanoCPUs: 1_500_000_000, MemoryBytes: 3 << 29}
	h, err := e.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if h.Executor != "aci" || !strings.HasPrefix(h.ID, testRG+"/baton-") {
		t.Errorf("handle %+v, want one of executor aci naming a group in %s", h, testRG)
	}
	if len(f.puts) != 1 {
		t.Fatalf("%d groups made, want 1", len(f.puts))
	}
	g := f.puts[0]
	checkGroup(t, g, spec)

	r, err := e.Wait(ctx, h)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if r.ExitCode != 0 || r.FinishedAt.IsZero() || r.Output != nil {
		t.Errorf("result %+v, want exit 0 with a finish time and no output (outputs come through the callback)", r)
	}
	if again, err := e.Wait(ctx, h); err != nil || again.ExitCode != 0 || !again.FinishedAt.Equal(r.FinishedAt) {
		t.Errorf("second Wait: %+v, %v; want the same end", again, err)
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Errorf("second Remove: %v, want nil (gone already is fine)", err)
	}
	if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Wait after Remove: %v, want %v", err, executor.ErrNotFound)
	}
}

// checkGroup checks the group baton asked for: restart policy Never, the
// dev.baton.* tags, both identities, pulls by identity, the wrapper's init
// container, the environment as plain variables and the secrets and token
// only as secret volumes.
func checkGroup(t *testing.T, g armcontainerinstance.ContainerGroup, spec *executor.Spec) {
	t.Helper()
	p := g.Properties
	if deref(p.RestartPolicy) != armcontainerinstance.ContainerGroupRestartPolicyNever {
		t.Errorf("restart policy %q, want Never", deref(p.RestartPolicy))
	}
	if deref(g.Location) != "northeurope" || deref(p.OSType) != armcontainerinstance.OperatingSystemTypesLinux {
		t.Errorf("location %q, OS %q", deref(g.Location), deref(p.OSType))
	}
	wantTags := map[string]string{
		executor.LabelManaged: "true", executor.LabelRun: spec.RunID, executor.LabelStep: spec.Step,
		executor.LabelAttempt: "1", executor.LabelInstance: "test-instance",
	}
	for k, v := range wantTags {
		if got := deref(g.Tags[k]); got != v {
			t.Errorf("tag %s = %q, want %q", k, got, v)
		}
	}
	if g.Identity == nil || deref(g.Identity.Type) != armcontainerinstance.ResourceIdentityTypeUserAssigned ||
		g.Identity.UserAssignedIdentities[testIdentity] == nil || g.Identity.UserAssignedIdentities[testPull] == nil {
		t.Errorf("identity %+v, want both user-assigned identities", g.Identity)
	}
	if len(p.ImageRegistryCredentials) != 1 || deref(p.ImageRegistryCredentials[0].Server) != "bats.azurecr.io" ||
		deref(p.ImageRegistryCredentials[0].Identity) != testPull || p.ImageRegistryCredentials[0].Password != nil {
		t.Errorf("registry credentials %+v, want bats.azurecr.io by the pull identity, no password", p.ImageRegistryCredentials)
	}
	if len(p.InitContainers) != 1 || deref(p.InitContainers[0].Properties.Image) != "bats.azurecr.io/baton:1" ||
		strings.Join(strs(p.InitContainers[0].Properties.Command), " ") != "/baton step-wrap --install /baton-helper/baton" {
		t.Errorf("init containers %+v, want the helper installing the wrapper", p.InitContainers)
	}
	step := stepOf(p)
	if step == nil {
		t.Fatal("no step container")
	}
	sp := step.Properties
	if got := strings.Join(strs(sp.Command), " "); got != "/baton-helper/baton step-wrap -- sh -c true" {
		t.Errorf("command %q, want the step's under the wrapper", got)
	}
	if deref(sp.Resources.Requests.CPU) != 1.5 || deref(sp.Resources.Requests.MemoryInGB) != 1.5 {
		t.Errorf("resources %+v, want the step's 1.5 cores and 1.5 GB", sp.Resources.Requests)
	}
	env := map[string]string{}
	for _, v := range sp.EnvironmentVariables {
		name := deref(v.Name)
		if secret := slices.Contains(spec.SecretEnv, name); secret != (v.SecureValue != nil) || (secret && v.Value != nil) {
			t.Errorf("variable %s: value %q, secure value %v; want secrets as secure values only, the rest plain", name, deref(v.Value), v.SecureValue != nil)
		}
		if v.SecureValue != nil && deref(v.SecureValue) != spec.Env[name] {
			t.Errorf("secure value of %s is %q, want %q", name, deref(v.SecureValue), spec.Env[name])
		}
		env[name] = deref(v.Value)
	}
	if env["BATON_VAR_X"] != "hello $(x) ${y}" || env[executor.EnvTokenFile] != "/run/baton/token" || env[executor.EnvSecretsDir] != executor.SecretsDir {
		t.Errorf("environment %v, want the step's verbatim and baton's paths", env)
	}
	for k, v := range env {
		if strings.Contains(v, "hunter2") || strings.Contains(v, spec.Token) {
			t.Errorf("variable %s holds a secret or the token", k)
		}
	}
	secrets := map[string]map[string]*string{}
	for _, v := range p.Volumes {
		if v.Secret != nil {
			secrets[deref(v.Name)] = v.Secret
		}
	}
	if got := decode(t, secrets[secretsVolume]["db-password"]); got != "hunter2\x00\xff" {
		t.Errorf("secret volume holds %q, want the secret", got)
	}
	if got := decode(t, secrets[tokenVolume][tokenName]); got != spec.Token {
		t.Errorf("token volume holds %q, want the token", got)
	}
	mounts := map[string]string{}
	for _, m := range sp.VolumeMounts {
		if !deref(m.ReadOnly) {
			t.Errorf("volume %s is mounted writable", deref(m.Name))
		}
		mounts[deref(m.Name)] = deref(m.MountPath)
	}
	if mounts[secretsVolume] != "/run/secrets" || mounts[tokenVolume] != "/run/baton" || mounts[helperVolume] != "/baton-helper" {
		t.Errorf("mounts %v", mounts)
	}
}

func strs(ps []*string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = deref(p)
	}
	return out
}

func decode(t *testing.T, v *string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(deref(v))
	if err != nil {
		t.Fatalf("secret file %q is not base64: %v", deref(v), err)
	}
	return string(b)
}

// TestFailedWithExitCode: the step's exit code is the result.
func TestFailedWithExitCode(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	e := newFakeExecutor(t, f)
	ctx := testContext(t)
	h, err := e.Start(ctx, testSpec(t, "s", fakeScript{ExitCode: 42}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(ctx, h)
	r, err := e.Wait(ctx, h)
	if err != nil || r.ExitCode != 42 {
		t.Fatalf("Wait: %+v, %v; want exit 42", r, err)
	}
}

// TestStartFailures: what keeps the step from running fails Start, or
// Wait, with what Azure said and the error kind the engine retries by.
func TestStartFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		script fakeScript
		want   error
		says   string
	}{
		{"image not there", fakeScript{PullError: `Failed to pull image "bats.azurecr.io/step:1": manifest unknown`}, executor.ErrImageNotFound, "manifest unknown"},
		{"pull not allowed", fakeScript{PullError: "Failed to pull image: unauthorized: authentication required"}, executor.ErrImageNotFound, "unauthorized"},
		{"helper not baton", fakeScript{HelperExit: 127}, nil, "helper_image must hold baton's static binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeACI(realClock{})
			e := newFakeExecutor(t, f)
			ctx := testContext(t)
			h, err := e.Start(ctx, testSpec(t, "s", tt.script))
			if h == nil {
				t.Fatalf("Start: no handle for a group that was made: %v", err)
			}
			defer e.Remove(ctx, h)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Start: %v; want %v saying %q", err, tt.want, tt.says)
			}
			if _, err := e.Wait(ctx, h); !errors.Is(err, executor.ErrNeverStarted) {
				t.Errorf("Wait: %v; want %v", err, executor.ErrNeverStarted)
			}
		})
	}
}

// TestPullFailingPastPendingTimeout: a pull that fails for a reason that
// may pass is waited out, then fails as unavailable (so the engine may
// retry the attempt).
func TestPullFailingPastPendingTimeout(t *testing.T) {
	t.Parallel()
	c := newFakeClock()
	f := newFakeACI(c)
	e := newFakeExecutor(t, f, func(o *Options) { o.PendingTimeout = 3 * time.Minute; o.PollMax = 10 * time.Second })
	ctx := testContext(t)
	begin := c.Now()
	h, err := e.Start(ctx, testSpec(t, "s", fakeScript{PullError: "Failed to pull image: i/o timeout"}))
	if !errors.Is(err, executor.ErrUnavailable) || !strings.Contains(err.Error(), "i/o timeout") {
		t.Fatalf("Start: %v; want %v with what Azure said", err, executor.ErrUnavailable)
	}
	if waited := c.Now().Sub(begin); waited < 3*time.Minute {
		t.Errorf("gave up after %s, before the pending timeout", waited)
	}
	_ = e.Remove(ctx, h)
}

// TestQuotaRefused: a creation refused for quota makes nothing, and is
// unavailable (worth retrying) with the reason and what to do.
func TestQuotaRefused(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	srv := f.transport()
	quota := transportFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method == "PUT" {
			return jsonAnswer(r, 409, `{"error":{"code":"ContainerGroupQuotaReached","message":"Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded"}}`), nil
		}
		return srv.Do(r)
	})
	e := newFakeExecutor(t, f, func(o *Options) { o.Client.Transport = quota })
	h, err := e.Start(testContext(t), testSpec(t, "s", fakeScript{}))
	if h != nil {
		t.Errorf("Start returned handle %v for a group Azure refused", h)
	}
	if !errors.Is(err, executor.ErrUnavailable) || !strings.Contains(err.Error(), "quota") || !strings.Contains(err.Error(), "ContainerGroupQuotaReached") {
		t.Errorf("Start: %v; want unavailable, saying quota", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("Start's error spans lines: %q", err)
	}
}

// TestStopReadsAsStopped: a stopped group's end is baton's stop, whatever
// exit code Azure shows for it.
func TestStopReadsAsStopped(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	e := newFakeExecutor(t, f)
	ctx := testContext(t)
	h, err := e.Start(ctx, testSpec(t, "s", fakeScript{UntilStopped: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(ctx, h)
	if err := e.Stop(ctx, h, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	r, err := e.Wait(ctx, h)
	if err != nil || r.ExitCode != ExitStopped {
		t.Fatalf("Wait after Stop: %+v, %v; want exit %d", r, err, ExitStopped)
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(ctx, h, time.Second); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("Stop after Remove: %v, want %v", err, executor.ErrNotFound)
	}
}

// TestDeleteFailsTwiceThenSucceeds: each Remove is one try; a failed try
// says what Azure answered, and the group is gone once one succeeds.
func TestDeleteFailsTwiceThenSucceeds(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	e := newFakeExecutor(t, f)
	ctx := testContext(t)
	h, err := e.Start(ctx, testSpec(t, "s", fakeScript{}))
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.failDeletes = 2
	f.mu.Unlock()
	for try := 1; try <= 2; try++ {
		if err := e.Remove(ctx, h); err == nil || !strings.Contains(err.Error(), "409") {
			t.Fatalf("Remove try %d: %v, want Azure's 409", try, err)
		}
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Fatalf("Remove try 3: %v", err)
	}
	if f.deletes != 3 || len(f.groups) != 0 {
		t.Errorf("%d deletions asked, %d groups left; want 3 and none", f.deletes, len(f.groups))
	}
}

// TestLogs: a follower running beside Wait gets every line with Azure's
// times, once; Wait returns only after it read the log to its end; a
// follower after the end gets every line too.
func TestLogs(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	// Followers read the log once, then only when Wait says the step ended.
	e := newFakeExecutor(t, f, func(o *Options) { o.LogPoll = time.Hour })
	ctx := testContext(t)
	want := []string{"one", "two", "three", "four"}
	h, err := e.Start(ctx, testSpec(t, "s", fakeScript{Logs: want, RunFor: 300 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Remove(ctx, h)
	var mu sync.Mutex
	var live []executor.LogLine
	followed := make(chan error, 1)
	go func() {
		followed <- e.FollowLogs(ctx, h, func(l executor.LogLine) {
			mu.Lock()
			live = append(live, l)
			mu.Unlock()
		})
	}()
	if _, err := e.Wait(ctx, h); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := texts(live)
	mu.Unlock()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("lines when Wait returned: %q, want %q", got, want)
	}
	if err := <-followed; err != nil {
		t.Errorf("FollowLogs: %v", err)
	}
	for _, l := range live {
		if l.Time.IsZero() || l.Stream != "stdout" {
			t.Errorf("line %+v: want Azure's time, on stdout", l)
		}
	}
	var late []executor.LogLine
	if err := e.FollowLogs(ctx, h, func(l executor.LogLine) { late = append(late, l) }); err != nil {
		t.Fatal(err)
	}
	if got := texts(late); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("lines after the end: %q, want %q", got, want)
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Fatal(err)
	}
	if err := e.FollowLogs(ctx, h, func(executor.LogLine) {}); !errors.Is(err, executor.ErrNotFound) {
		t.Errorf("FollowLogs after Remove: %v, want %v", err, executor.ErrNotFound)
	}
}

func texts(lines []executor.LogLine) []string {
	var out []string
	for _, l := range lines {
		out = append(out, l.Text)
	}
	return out
}

// TestReattachByTags: a new executor on the resource group (baton after
// a restart) finds the groups this installation made by their tags, with
// the run, step and attempt of each, over several pages, and can wait for
// and remove them; groups of another installation or of nobody's are not
// listed.
func TestReattachByTags(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	first := newFakeExecutor(t, f)
	ctx := testContext(t)
	specs := map[string]*executor.Spec{}
	for _, step := range []string{"a", "b", "c"} {
		spec := testSpec(t, step, fakeScript{})
		spec.Attempt = 2
		if _, err := first.Start(ctx, spec); err != nil {
			t.Fatal(err)
		}
		specs[step] = spec
	}
	other := newFakeExecutor(t, f, func(o *Options) { o.Instance = "another-baton" })
	if _, err := other.Start(ctx, testSpec(t, "theirs", fakeScript{})); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.groups["hand-made"] = &fakeGroup{body: armcontainerinstance.ContainerGroup{Name: toPtr("hand-made"), Properties: &armcontainerinstance.ContainerGroupPropertiesProperties{}}}
	f.mu.Unlock()

	restarted := newFakeExecutor(t, f)
	owned, err := restarted.ListOwned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(owned) != 3 {
		t.Fatalf("listed %d groups, want this installation's 3: %+v", len(owned), owned)
	}
	for _, o := range owned {
		spec := specs[o.Step]
		if spec == nil || o.RunID != spec.RunID || o.Attempt != 2 || o.Handle.Executor != "aci" {
			t.Errorf("listed %+v, want one of the attempts made", o)
			continue
		}
		if r, err := restarted.Wait(ctx, o.Handle); err != nil || r.ExitCode != 0 {
			t.Errorf("Wait on the listed group of %s: %+v, %v", o.Step, r, err)
		}
		if err := restarted.Remove(ctx, o.Handle); err != nil {
			t.Errorf("Remove: %v", err)
		}
	}
	if f.count("ContainerGroupsClient.NewListByResourceGroupPager") < 2 {
		t.Errorf("listing read %d pages, want every page", f.count("ContainerGroupsClient.NewListByResourceGroupPager"))
	}
}

func toPtr(s string) *string { return &s }

// validName is what Azure takes as a container group's name.
var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// TestCheckSpec: what a standard container group cannot give is refused
// with the reason, before anything is made.
func TestCheckSpec(t *testing.T) {
	t.Parallel()
	f := newFakeACI(realClock{})
	e := newFakeExecutor(t, f)
	for name, change := range map[string]func(*executor.Spec){
		"user":           func(s *executor.Spec) { s.User = "1000" },
		"read-only root": func(s *executor.Spec) { s.ReadOnlyRoot = true },
		"capabilities":   func(s *executor.Spec) { s.CapAdd = []string{"NET_ADMIN"} },
		"no image":       func(s *executor.Spec) { s.Image = "" },
		"no command":     func(s *executor.Spec) { s.Command = nil },
		"bad secret":     func(s *executor.Spec) { s.Secrets = map[string][]byte{"a b": nil} },
	} {
		spec := testSpec(t, "s", fakeScript{})
		change(spec)
		if err := e.CheckSpec(spec); err == nil {
			t.Errorf("%s: CheckSpec passed", name)
		}
		if h, err := e.Start(testContext(t), spec); err == nil || h != nil {
			t.Errorf("%s: Start: %v, %v; want refused, with nothing made", name, h, err)
		}
	}
	if len(f.puts) != 0 {
		t.Errorf("%d groups made for refused steps", len(f.puts))
	}
}

// TestGroupNames: names are what Azure takes, at most 63 characters,
// unique per attempt.
func TestGroupNames(t *testing.T) {
	t.Parallel()
	for _, s := range []*executor.Spec{
		{RunID: "R1", Step: "Build Image!", Attempt: 3},
		{RunID: "20261201t101010-0a1b2c3d", Step: "deploy.12", Attempt: 2}, // a fan-out instance
		{RunID: strings.Repeat("x", 80), Step: "--", Attempt: 1},
		{RunID: "-", Step: "_", Attempt: 1},
	} {
		n := groupName(s, randomSuffix())
		if len(n) > maxName || !validName.MatchString(n) || strings.Contains(n, "--") {
			t.Errorf("group name %q for %+v is not one Azure takes", n, s)
		}
		if n == groupName(s, randomSuffix()) {
			t.Errorf("two attempts of %+v got the same name %q", s, n)
		}
	}
}
