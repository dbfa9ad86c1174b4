package kubernetes

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/baton-dev/baton/internal/executor"
	"github.com/baton-dev/baton/internal/executor/executortest"
)

// TestKubeConformance runs the executor conformance suite on the test
// cluster. kwok runs no container: it plays every case's command (see
// kwokPlay), so the cases that need a command that really runs (what it
// sees in its environment, secrets, token and output file) are skipped,
// saying so. Those are covered here by what the API server kept of the
// pod (TestKubeObjects) and by step-wrap's own tests. Streams are one
// under kwok, as on clusters without split log streams.
func TestKubeConformance(t *testing.T) {
	t.Parallel()
	c := testCluster(t)
	executortest.RunPlayed(t, func(t *testing.T) executor.Executor {
		return newClusterExecutor(t, Options{})
	}, executortest.Player{
		Name:      "kwok",
		Image:     "busybox:kwok",
		Play:      c.kwokPlay,
		Logs:      true,
		OneStream: true,
	})
}

// Run times kwok plays: long enough for a follower to see the container
// running, and longer than any test for a command that runs until stopped.
const (
	kwokRunFor   = "2s"
	kwokRunUntil = "1h"
)

// kwokPlay makes kwok play script for spec's pod: its exit code and run
// time as variables the stages of .ci/kube-kwok.yaml read, its lines as
// the pod's log, through a kwok Logs object. The pod's name is known only
// once the Job made it, so a pod with a log is held Pending until kwok
// serves its Logs object.
func (c *cluster) kwokPlay(t *testing.T, spec *executor.Spec, script executortest.Script) {
	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["BATON_KWOK_EXIT_CODE"] = strconv.Itoa(script.ExitCode)
	env["BATON_KWOK_RUN_FOR"] = kwokRunFor
	if script.UntilStopped {
		env["BATON_KWOK_RUN_FOR"] = kwokRunUntil
	}
	if len(script.Logs) > 0 {
		env["BATON_KWOK_HOLD"] = "logs"
		c.serveLogs(t, spec.RunID, script.Logs)
	}
	spec.Env = env
}

// serveLogs waits, beside the test, for the pod of run runID, gives it
// lines as its log and releases it.
func (c *cluster) serveLogs(t *testing.T, runID string, lines []executor.LogLine) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "pod.log")
	if err := os.WriteFile(file, criLog(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for _, l := range lines {
		want.WriteString(l.Text + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	// Watched from now, so the pod's creation is seen.
	w, err := c.admin.CoreV1().Pods(testNamespace).Watch(ctx, metav1.ListOptions{LabelSelector: executor.LabelRun + "=" + runID})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{})
	var served string // the pod whose Logs object was made
	go func() {
		defer close(done)
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					t.Errorf("watch of the pod of run %s ended before it was scheduled", runID)
					return
				}
				if pod, ok := ev.Object.(*corev1.Pod); ok && pod.Spec.NodeName != "" {
					served = pod.Name
					if err := c.givePodLog(ctx, pod, file, want.String()); err != nil {
						t.Errorf("kwok: log of pod %s: %v", pod.Name, err)
					}
					// Released even so: the test fails on its log, not
					// on a pod that never starts.
					if err := c.release(ctx, pod.Name); err != nil {
						t.Errorf("kwok: release pod %s: %v", pod.Name, err)
					}
					return
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if served == "" {
			return
		}
		// The collector removes it with the pod; this is in case the
		// pod outlived the test.
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		err := c.dynamic.Resource(kwokLogs).Namespace(testNamespace).Delete(ctx, served, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete Logs object %s: %v", served, err)
		}
	})
}

// criLog is lines in the CRI log format a kubelet (and kwok) reads:
// time, stream, F(ull), text.
func criLog(lines []executor.LogLine) []byte {
	base := time.Now().UTC()
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%s %s F %s\n", base.Add(time.Duration(i)*time.Millisecond).Format(time.RFC3339Nano), l.Stream, l.Text)
	}
	return []byte(b.String())
}

// givePodLog makes a Logs object for pod, owned by it so that the cluster
// removes it with the pod, and waits until kwok serves the pod's log from
// file (text is what that log says).
func (c *cluster) givePodLog(ctx context.Context, pod *corev1.Pod, file, text string) error {
	logs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata": map[string]any{
			"name": pod.Name, "namespace": pod.Namespace,
			"ownerReferences": []any{map[string]any{"apiVersion": "v1", "kind": "Pod", "name": pod.Name, "uid": string(pod.UID)}},
		},
		"spec": map[string]any{"logs": []any{map[string]any{"containers": []any{stepContainer}, "logsFile": file}}},
	}}
	if _, err := c.dynamic.Resource(kwokLogs).Namespace(pod.Namespace).Create(ctx, logs, metav1.CreateOptions{}); err != nil {
		return err
	}
	// kwok reads Logs objects through a watch of its own.
	for {
		b, err := c.admin.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: stepContainer}).DoRaw(ctx)
		if err == nil && string(b) == text {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kwok never served the log of the Logs object (last: %q, %v)", b, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// release lets a held pod start.
func (c *cluster) release(ctx context.Context, pod string) error {
	patch := []byte(`{"metadata":{"annotations":{"baton.test/release":"true"}}}`)
	_, err := c.admin.CoreV1().Pods(testNamespace).Patch(ctx, pod, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil // removed meanwhile
	}
	return err
}
