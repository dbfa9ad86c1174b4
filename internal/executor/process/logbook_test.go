package process

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// TestLogBookReplay keeps only a few bytes in memory so that followers must
// read most lines back from the file, both while lines arrive and after.
func TestLogBookReplay(t *testing.T) {
	t.Parallel()
	b, err := newLogBook(filepath.Join(t.TempDir(), "log"), 10)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 200 {
		want = append(want, fmt.Sprintf("line %d \xff", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	follow := func() ([]string, error) {
		var got []string
		err := b.follow(ctx, func(l executor.LogLine) {
			if l.Time.IsZero() || l.Stream != "stderr" {
				t.Errorf("line %+v: want a time and stream stderr", l)
			}
			got = append(got, l.Text)
		})
		return got, err
	}
	var live [3][]string
	var wg sync.WaitGroup
	for i := range live {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if live[i], err = follow(); err != nil {
				t.Error(err)
			}
		}()
	}
	for i, text := range want {
		b.append(executor.LogLine{Time: time.Unix(int64(i), 1), Stream: "stderr", Text: text})
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	if err := b.close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, got := range live {
		if !slices.Equal(got, want) {
			t.Errorf("live follower %d got %d lines, want %d in order", i, len(got), len(want))
		}
	}
	got, err := follow()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("late follower got %d lines, want %d in order", len(got), len(want))
	}
	if len(b.lines) >= len(want) {
		t.Errorf("memory holds %d lines; the test needs it trimmed", len(b.lines))
	}
}

func TestLogBookFollowCancel(t *testing.T) {
	t.Parallel()
	b, err := newLogBook(filepath.Join(t.TempDir(), "log"), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := b.follow(ctx, func(executor.LogLine) {}); err != context.DeadlineExceeded {
		t.Errorf("err = %v, want %v", err, context.DeadlineExceeded)
	}
}
