package process

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestLogBookPartial keeps Partial through memory and through the file.
func TestLogBookPartial(t *testing.T) {
	t.Parallel()
	b, err := newLogBook(filepath.Join(t.TempDir(), "log"), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer b.release()
	want := []bool{true, true, false, false, true, false}
	for i, p := range want {
		b.append(executor.LogLine{Time: time.Now(), Stream: "stdout", Text: fmt.Sprintf("piece %d", i), Partial: p})
	}
	b.close()
	if b.first == 0 {
		t.Fatal("memory holds every line; the test needs some replayed from the file")
	}
	var got []bool
	if err := b.follow(context.Background(), func(l executor.LogLine) { got = append(got, l.Partial) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Partial = %v, want %v", got, want)
	}
}

// TestLogBookFileReplaced has the command replace and overwrite its log
// file by name, as it can: followers read what baton wrote through its own
// handle, and a forged record cannot make them allocate gigabytes.
func TestLogBookFileReplaced(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "log")
	b, err := newLogBook(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer b.release()
	for i := range 20 {
		b.append(executor.LogLine{Time: time.Now(), Stream: "stdout", Text: fmt.Sprintf("line %d", i)})
	}
	b.close()
	outside := filepath.Join(dir, "outside")
	if err := os.WriteFile(outside, []byte("LEAKED=marker\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, path); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := b.follow(context.Background(), func(l executor.LogLine) { got = append(got, l.Text) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || got[0] != "line 0" {
		t.Errorf("lines after the file was replaced = %q, want baton's 20", got)
	}

	// Overwritten in place, with a record claiming 4 GiB of text.
	forged := make([]byte, recordHeader)
	binary.BigEndian.PutUint32(forged[9:], 0xffffffff)
	if _, err := b.file.WriteAt(forged, 0); err != nil {
		t.Fatal(err)
	}
	err = b.follow(context.Background(), func(executor.LogLine) {})
	if err == nil || !strings.Contains(err.Error(), "longer than a line") {
		t.Errorf("follow of a forged record: err = %v, want a refusal", err)
	}
}
