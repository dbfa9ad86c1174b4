package kubernetes

// The helpers of the tests against a real API server: the control plane
// .ci/kube-up starts (kube-apiserver, controller-manager, scheduler, etcd,
// and kwok as the nodes). kwok runs no container: a pod's exit code, how
// long it runs and why it waits come from kwok stages the tests steer
// through BATON_KWOK_* variables in the step's environment, and its logs
// from a kwok Logs object a test makes (see .ci/kube-kwok.yaml). So these
// tests prove what baton asks of the cluster and how it reads the
// answers, not what a kubelet does with a container.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/baton-dev/baton/internal/executor"
)

// testNamespace is the namespace docs/kubernetes-rbac.yaml makes.
const testNamespace = "baton-jobs"

// serviceAccount is the account the manifest binds its Role to; the tests
// act as it, so they prove the manifest grants what baton needs.
const serviceAccount = "system:serviceaccount:baton-jobs:baton"

// testTimeout bounds every test's calls to the cluster.
const testTimeout = 3 * time.Minute

type cluster struct {
	admin   k8s.Interface
	dynamic dynamic.Interface
	// asBaton is the config of a client acting as baton's service account.
	asBaton *rest.Config
}

var (
	clusterOnce sync.Once
	clusterErr  error
	theCluster  *cluster
)

// testCluster returns the test control plane, with the RBAC manifest from
// docs applied. Without BATON_TEST_KUBECONFIG the test skips, unless
// BATON_TEST_KUBERNETES=1 (CI), where it fails.
func testCluster(t *testing.T) *cluster {
	t.Helper()
	path := os.Getenv("BATON_TEST_KUBECONFIG")
	if path == "" {
		if os.Getenv("BATON_TEST_KUBERNETES") == "1" {
			t.Fatal("BATON_TEST_KUBERNETES=1 but BATON_TEST_KUBECONFIG is not set; start the test control plane with .ci/kube-up and source /run/baton-ci/kube.env")
		}
		t.Skip("no test cluster: set BATON_TEST_KUBECONFIG (.ci/kube-up writes it to /run/baton-ci/kube.env)")
	}
	clusterOnce.Do(func() { theCluster, clusterErr = connect(path) })
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	return theCluster
}

func connect(path string) (*cluster, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	admin, err := k8s.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := applyManifest(ctx, dyn, rbacManifest()); err != nil {
		return nil, err
	}
	asBaton := rest.CopyConfig(cfg)
	asBaton.Impersonate = rest.ImpersonationConfig{UserName: serviceAccount}
	return &cluster{admin: admin, dynamic: dyn, asBaton: asBaton}, nil
}

// rbacManifest is the path of docs/kubernetes-rbac.yaml.
func rbacManifest() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "kubernetes-rbac.yaml")
}

// applyManifest applies every object in the file, server-side, as the
// tests' own field manager.
func applyManifest(ctx context.Context, dyn dynamic.Interface, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	resources := map[string]schema.GroupVersionResource{
		"Namespace":      {Version: "v1", Resource: "namespaces"},
		"ServiceAccount": {Version: "v1", Resource: "serviceaccounts"},
		"Role":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
		"RoleBinding":    {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj unstructured.Unstructured
		if err := dec.Decode(&obj.Object); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvr, ok := resources[obj.GetKind()]
		if !ok {
			return fmt.Errorf("%s: unexpected kind %q", path, obj.GetKind())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if ns := obj.GetNamespace(); ns != "" {
			ri = dyn.Resource(gvr).Namespace(ns)
		}
		if _, err := ri.Apply(ctx, obj.GetName(), &obj, metav1.ApplyOptions{FieldManager: "baton-test", Force: true}); err != nil {
			return err
		}
	}
}

// newClusterExecutor returns an executor acting as baton's service
// account, with an instance of its own, and checks when the test ends
// that nothing of that instance is left in the cluster.
func newClusterExecutor(t *testing.T, opts Options) *Executor {
	t.Helper()
	c := testCluster(t)
	client, err := k8s.NewForConfig(c.asBaton)
	if err != nil {
		t.Fatal(err)
	}
	opts.Client = client
	opts.Namespace = testNamespace
	if opts.HelperImage == "" {
		opts.HelperImage = "baton-helper:test"
	}
	if opts.Instance == "" {
		opts.Instance = "test-" + randomHex(t)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.logDrain = time.Second
	t.Cleanup(func() { checkNothingLeft(t, c, opts.Instance) })
	return e
}

// checkNothingLeft fails the test if any Job, pod or Secret of instance
// is still in the namespace once the cluster has had time to collect them.
func checkNothingLeft(t *testing.T, c *cluster, instance string) {
	t.Helper()
	sel := metav1.ListOptions{LabelSelector: executor.LabelInstance + "=" + instance}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var left []string
	eventually(t, "the attempt's objects to be collected", func() bool {
		left = left[:0]
		jobs, err := c.admin.BatchV1().Jobs(testNamespace).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs.Items {
			left = append(left, "job "+j.Name)
		}
		pods, err := c.admin.CoreV1().Pods(testNamespace).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			left = append(left, "pod "+p.Name)
		}
		secrets, err := c.admin.CoreV1().Secrets(testNamespace).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets.Items {
			left = append(left, "secret "+s.Name)
		}
		return len(left) == 0
	})
	if len(left) > 0 {
		t.Errorf("left in the cluster after Remove: %s", strings.Join(left, ", "))
	}
}

// eventually waits, boundedly, for what the cluster does in its own time
// (a controller collecting objects, kwok seeing a new Logs object).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Errorf("gave up waiting for %s", what)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func randomHex(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// kwokSpec is a spec whose pod kwok runs for runFor and ends with code.
func kwokSpec(t *testing.T, code, runFor string) *executor.Spec {
	step := strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	return &executor.Spec{
		RunID:   "test-" + randomHex(t),
		Step:    step,
		Attempt: 1,
		Image:   "busybox:kwok",
		Command: []string{"sh", "-c", "echo never runs under kwok"},
		Env:     map[string]string{"BATON_KWOK_EXIT_CODE": code, "BATON_KWOK_RUN_FOR": runFor},
		Pull:    executor.PullNever,
		Token:   "token-" + randomHex(t),
		Secrets: map[string][]byte{"api.key": []byte("hunter2-\x00\xff")},
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// start starts spec and removes what it made when the test ends.
func start(t *testing.T, e *Executor, spec *executor.Spec) *executor.Handle {
	t.Helper()
	h, err := e.Start(testContext(t), spec)
	if h != nil {
		t.Cleanup(func() {
			if err := e.Remove(testContext(t), h); err != nil {
				t.Errorf("Remove: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return h
}
