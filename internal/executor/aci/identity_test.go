package aci

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/baton-dev/baton/internal/executor"
)

// armStandIn is a local HTTPS server that answers as Azure Resource
// Manager does for one container group, recording what it was sent. It
// is no fake of Azure's behaviour: it proves what the real SDK clients,
// built as baton builds them, send.
type armStandIn struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []armRequest
	group    map[string]any // the body of the PUT
	deleted  bool
}

type armRequest struct {
	method, path, auth string
	body               []byte
}

func newARMStandIn(t *testing.T) *armStandIn {
	a := &armStandIn{}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *armStandIn) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, armRequest{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), body: body})
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Query().Get("api-version") != "2023-05-01" {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"code":"InvalidApiVersion","message":"unknown api-version"}}`)
		return
	}
	switch {
	case r.Method == http.MethodPut:
		_ = json.Unmarshal(body, &a.group)
		w.WriteHeader(http.StatusCreated)
		a.write(w, "Running", nil)
	case r.Method == http.MethodDelete:
		a.deleted = true
		w.WriteHeader(http.StatusOK)
	case strings.HasSuffix(r.URL.Path, "/containers/step/logs"):
		io.WriteString(w, `{"content":"2026-01-02T03:04:05.5Z hello from azure\n"}`)
	case r.Method == http.MethodGet && (a.group == nil || a.deleted):
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.ContainerInstance/containerGroups/x' was not found."}}`)
	case r.Method == http.MethodGet:
		a.write(w, "Terminated", to32(7))
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func to32(v int32) *int32 { return &v }

// write answers with the group as it was made, its step in state.
func (a *armStandIn) write(w io.Writer, state string, exit *int32) {
	g := map[string]any{}
	b, _ := json.Marshal(a.group)
	_ = json.Unmarshal(b, &g)
	props := g["properties"].(map[string]any)
	props["provisioningState"] = "Succeeded"
	cur := map[string]any{"state": state, "startTime": "2026-01-02T03:04:05Z"}
	if exit != nil {
		cur["exitCode"], cur["finishTime"] = *exit, "2026-01-02T03:04:09Z"
	}
	for _, c := range props["containers"].([]any) {
		c.(map[string]any)["properties"].(map[string]any)["instanceView"] = map[string]any{"currentState": cur}
	}
	_ = json.NewEncoder(w).Encode(g)
}

// tokenEndpoint is a local managed identity endpoint, as App Service and
// Container Apps give one (IDENTITY_ENDPOINT, IDENTITY_HEADER).
type tokenEndpoint struct {
	srv   *httptest.Server
	mu    sync.Mutex
	asked []string // the client_id of each request
	bad   int      // requests without the identity header
}

const (
	testIdentityHeader = "local-identity-header"
	testToken          = "token-from-the-local-identity-endpoint"
)

func newTokenEndpoint(t *testing.T) *tokenEndpoint {
	te := &tokenEndpoint{}
	te.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		te.mu.Lock()
		defer te.mu.Unlock()
		if r.Header.Get("X-IDENTITY-HEADER") != testIdentityHeader {
			te.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		te.asked = append(te.asked, r.URL.Query().Get("client_id")+" for "+r.URL.Query().Get("resource"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": testToken, "token_type": "Bearer", "resource": r.URL.Query().Get("resource"),
			"expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
		})
	}))
	t.Cleanup(te.srv.Close)
	return te
}

// TestIdentityEndToEnd: baton's managed identity gets its token from the
// local identity endpoint, and the real ARM clients send it, with the
// group baton means, to a local HTTPS stand-in reached through the cloud
// configuration. Nothing leaves this machine.
func TestIdentityEndToEnd(t *testing.T) {
	te := newTokenEndpoint(t)
	t.Setenv("IDENTITY_ENDPOINT", te.srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", testIdentityHeader)
	a := newARMStandIn(t)
	// The Azure SDK keeps managed identity tokens in a cache of the
	// process, by client ID: a client ID of this test alone makes it ask
	// the endpoint again when the test runs twice (-count=2).
	clientID := "baton-client-id-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	local := cloud.Configuration{
		ActiveDirectoryAuthorityHost: a.srv.URL + "/",
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: a.srv.URL, Audience: "https://management.azure.com"},
		},
	}
	e, err := New(Options{
		Subscription: "11111111-2222-3333-4444-555555555555", ResourceGroup: testRG, Location: "northeurope",
		Identity: testIdentity, RegistryIdentity: testPull, HelperImage: "bats.azurecr.io/baton:1",
		PollMin: time.Millisecond, PollMax: 10 * time.Millisecond, LogPoll: 5 * time.Millisecond,
		CredentialKind: CredentialManagedIdentity, ClientID: clientID,
		Client: &arm.ClientOptions{ClientOptions: policy.ClientOptions{Cloud: local, Transport: a.srv.Client()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	spec := &executor.Spec{RunID: "r1", Step: "container", Attempt: 1, Image: "bats.azurecr.io/step:1",
		Command: []string{"pwsh", "-File", "run.ps1"}, Token: "callback-token",
		Env:       map[string]string{"BATON_VAR_STAGE": "2", "API_KEY": "s3cret-variable"},
		SecretEnv: []string{"API_KEY"},
		Secrets:   map[string][]byte{"db": []byte("s3cret-file")},
	}
	h, err := e.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var lines []string
	if err := e.FollowLogs(ctx, h, func(l executor.LogLine) { lines = append(lines, l.Text) }); err != nil {
		t.Fatalf("FollowLogs: %v", err)
	}
	r, err := e.Wait(ctx, h)
	if err != nil || r.ExitCode != 7 {
		t.Fatalf("Wait: %+v, %v; want exit 7", r, err)
	}
	if err := e.Remove(ctx, h); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if strings.Join(lines, "|") != "hello from azure" {
		t.Errorf("log lines %q", lines)
	}

	te.mu.Lock()
	if len(te.asked) == 0 || te.bad != 0 || te.asked[0] != clientID+" for https://management.azure.com" {
		t.Errorf("identity endpoint asked %q (%d without the header); want baton's client ID for ARM", te.asked, te.bad)
	}
	te.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	methods := map[string]int{}
	for _, req := range a.requests {
		methods[req.method]++
		if req.auth != "Bearer "+testToken {
			t.Errorf("%s %s sent Authorization %q, want the identity's token", req.method, req.path, req.auth)
		}
		if !strings.HasPrefix(req.path, "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/baton-steps/providers/Microsoft.ContainerInstance/containerGroups/baton-r1-container-1-") {
			t.Errorf("%s %s: not the attempt's group", req.method, req.path)
		}
	}
	if methods["PUT"] != 1 || methods["DELETE"] != 1 || methods["GET"] < 2 {
		t.Errorf("requests by method %v; want one PUT, one DELETE, reads", methods)
	}
	var put []byte
	for _, req := range a.requests {
		if req.method == "PUT" {
			put = req.body
		}
	}
	checkPutBody(t, put)
}

// checkPutBody checks the JSON baton sent to make the group, as Azure
// reads it.
func checkPutBody(t *testing.T, body []byte) {
	t.Helper()
	var g struct {
		Location string            `json:"location"`
		Tags     map[string]string `json:"tags"`
		Identity struct {
			Type  string                     `json:"type"`
			Users map[string]json.RawMessage `json:"userAssignedIdentities"`
		} `json:"identity"`
		Properties struct {
			RestartPolicy string `json:"restartPolicy"`
			OSType        string `json:"osType"`
			Credentials   []struct {
				Server   string `json:"server"`
				Identity string `json:"identity"`
				Password string `json:"password"`
			} `json:"imageRegistryCredentials"`
			Containers []struct {
				Name       string `json:"name"`
				Properties struct {
					Command []string `json:"command"`
					Env     []struct {
						Name        string  `json:"name"`
						Value       *string `json:"value"`
						SecureValue *string `json:"secureValue"`
					} `json:"environmentVariables"`
				} `json:"properties"`
			} `json:"containers"`
			Volumes []struct {
				Name   string            `json:"name"`
				Secret map[string]string `json:"secret"`
			} `json:"volumes"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("PUT body %s: %v", body, err)
	}
	if g.Properties.RestartPolicy != "Never" || g.Properties.OSType != "Linux" || g.Location != "northeurope" {
		t.Errorf("restart policy %q, OS %q, location %q", g.Properties.RestartPolicy, g.Properties.OSType, g.Location)
	}
	if g.Identity.Type != "UserAssigned" || g.Identity.Users[testIdentity] == nil || g.Identity.Users[testPull] == nil {
		t.Errorf("identity %+v, want both user-assigned identities", g.Identity)
	}
	if len(g.Properties.Credentials) != 1 || g.Properties.Credentials[0].Identity != testPull || g.Properties.Credentials[0].Password != "" {
		t.Errorf("registry credentials %+v, want the pull identity and no password", g.Properties.Credentials)
	}
	for k, v := range map[string]string{"dev.baton.managed": "true", "dev.baton.run": "r1", "dev.baton.step": "container", "dev.baton.attempt": "1"} {
		if g.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, g.Tags[k], v)
		}
	}
	if len(g.Properties.Containers) != 1 {
		t.Fatalf("%d containers", len(g.Properties.Containers))
	}
	env := g.Properties.Containers[0].Properties.Env
	secure := map[string]string{}
	for _, v := range env {
		if v.SecureValue != nil {
			secure[v.Name] = *v.SecureValue
		}
		if v.Value != nil && strings.Contains(*v.Value, "s3cret") {
			t.Errorf("variable %s is sent as a plain value: %q", v.Name, *v.Value)
		}
	}
	if len(secure) != 1 || secure["API_KEY"] != "s3cret-variable" {
		t.Errorf("secure values %v, want API_KEY only", secure)
	}
	if strings.Contains(string(body), "s3cret-file") || strings.Contains(string(body), "callback-token") {
		t.Error("a secret file or the token is sent in clear, not base64 in a secret volume")
	}
	vols := map[string]map[string]string{}
	for _, v := range g.Properties.Volumes {
		vols[v.Name] = v.Secret
	}
	if vols["baton-secrets"]["db"] != "czNjcmV0LWZpbGU=" || vols["baton-token"]["token"] != "Y2FsbGJhY2stdG9rZW4=" {
		t.Errorf("secret volumes %v", vols)
	}
}
