package kubernetes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/baton-dev/baton/internal/executor"
)

var kwokLogs = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "logs"}

// TestKubeLogs follows a pod's log through the API server. kwok answers
// the kubelet's log endpoint from a CRI-format file the test writes, named
// by a kwok Logs object for the pod; it never ends a followed stream, so
// this also proves that a stream which goes on after the container ended
// is cut and read to its end without losing or repeating a line.
func TestKubeLogs(t *testing.T) {
	t.Parallel()
	c := testCluster(t)
	e := newClusterExecutor(t, Options{})
	h := start(t, e, kwokSpec(t, "0", "15s"))
	ctx := testContext(t)
	pod := podOf(t, c, h)

	// The CRI log of a container: time, stream, P(artial) or F(ull), text.
	// The long line is logged in 16 KiB pieces, as a runtime does.
	long := strings.Repeat("x", 100<<10)
	base := time.Date(2026, 1, 2, 3, 4, 5, 600000000, time.UTC)
	var b strings.Builder
	at := func(i int) string { return base.Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339Nano) }
	fmt.Fprintf(&b, "%s stdout F out1\n", at(0))
	fmt.Fprintf(&b, "%s stderr F err1\n", at(1))
	for i := 0; i < len(long); i += 16 << 10 {
		tag := "P"
		if i+16<<10 >= len(long) {
			tag = "F"
		}
		fmt.Fprintf(&b, "%s stdout %s %s\n", at(2), tag, long[i:min(i+16<<10, len(long))])
	}
	fmt.Fprintf(&b, "%s stdout F  spaced $(out2) \n", at(3))
	file := filepath.Join(t.TempDir(), "pod.log")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	logs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Logs",
		"metadata":   map[string]any{"name": pod, "namespace": testNamespace},
		"spec":       map[string]any{"logs": []any{map[string]any{"containers": []any{stepContainer}, "logsFile": file}}},
	}}
	if _, err := c.dynamic.Resource(kwokLogs).Namespace(testNamespace).Create(ctx, logs, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.dynamic.Resource(kwokLogs).Namespace(testNamespace).Delete(context.Background(), pod, metav1.DeleteOptions{})
	})
	// kwok reads Logs objects through a watch of its own.
	eventually(t, "kwok to serve the pod's log from the test's file", func() bool {
		b, err := c.admin.CoreV1().Pods(testNamespace).GetLogs(pod, &corev1.PodLogOptions{Container: stepContainer}).DoRaw(ctx)
		return err == nil && strings.Contains(string(b), "out1")
	})

	want := []executor.LogLine{
		{Time: base, Stream: "stdout", Text: "out1"},
		{Time: base.Add(time.Millisecond), Stream: "stdout", Text: "err1"},
		{Time: base.Add(2 * time.Millisecond), Stream: "stdout", Text: long[:maxLine], Partial: true},
		{Time: base.Add(2 * time.Millisecond), Stream: "stdout", Text: long[maxLine:]},
		{Time: base.Add(3 * time.Millisecond), Stream: "stdout", Text: " spaced $(out2) "},
	}
	var live []executor.LogLine
	var liveErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		liveErr = e.FollowLogs(ctx, h, func(l executor.LogLine) { live = append(live, l) })
	})
	if r, err := e.Wait(ctx, h); err != nil || r.ExitCode != 0 {
		t.Errorf("Wait = %+v, %v; want exit 0", r, err)
	}
	wg.Wait()
	if liveErr != nil {
		t.Fatalf("FollowLogs while running: %v", liveErr)
	}
	checkLogLines(t, "while running", live, want)

	var late []executor.LogLine
	if err := e.FollowLogs(ctx, h, func(l executor.LogLine) { late = append(late, l) }); err != nil {
		t.Fatalf("FollowLogs after exit: %v", err)
	}
	checkLogLines(t, "after exit", late, want)
}

func checkLogLines(t *testing.T, when string, got, want []executor.LogLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d lines, want %d", when, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Text != w.Text || g.Stream != w.Stream || g.Partial != w.Partial || !g.Time.Equal(w.Time) {
			t.Errorf("%s: line %d = {%s %s %d bytes partial %v}, want {%s %s %d bytes partial %v}",
				when, i, g.Time.Format(time.RFC3339Nano), g.Stream, len(g.Text), g.Partial, w.Time.Format(time.RFC3339Nano), w.Stream, len(w.Text), w.Partial)
		}
	}
}

// podOf is the name of the pod of the Job h names.
func podOf(t *testing.T, c *cluster, h *executor.Handle) string {
	t.Helper()
	r, _ := parseHandle(h)
	ctx := testContext(t)
	job, err := c.admin.BatchV1().Jobs(r.namespace).Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.admin.CoreV1().Pods(r.namespace).List(ctx, metav1.ListOptions{LabelSelector: batchv1.ControllerUidLabel + "=" + string(job.UID)})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of %s: %v, %v; want one", r, pods, err)
	}
	return pods.Items[0].Name
}
