package process

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/baton-dev/baton/internal/executor"
)

// logBook keeps the lines one attempt printed: every line goes to a file, and
// the newest ones also stay in memory so that followers keeping up never touch
// the disk. A follower that falls behind what memory holds, or that starts
// late, reads the older lines back from the file.
//
// The file lies in the attempt's scratch directory, which the command can
// change, so it is read back through the handle it was created with, never
// reopened by name, and a record longer than a line can be is refused.
type logBook struct {
	memLimit int // bytes of text kept in memory after a trim

	mu       sync.Mutex
	file     *os.File // open for reading until release
	size     int64    // bytes written to file
	lines    []entry  // the newest lines
	first    int64    // sequence number of lines[0]
	memBytes int
	closed   bool
	wake     chan struct{} // closed and replaced when lines grow or the book closes
	err      error         // first write error; later lines are kept in memory only
}

type entry struct {
	line executor.LogLine
	end  int64 // file offset just past this line's record
}

// Each record in the file is a header followed by the line's text. Binary,
// not JSON, so that text which is not UTF-8 comes back byte for byte.
const (
	recordHeader = 8 + 1 + 4 // unix nanoseconds, stream and flags, text length
	streamStdout = 1
	streamStderr = 2
	flagPartial  = 0x80 // or'ed into the stream byte
)

func newLogBook(path string, memLimit int) (*logBook, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	return &logBook{memLimit: memLimit, file: f, wake: make(chan struct{})}, nil
}

func (b *logBook) append(l executor.LogLine) {
	rec := make([]byte, recordHeader, recordHeader+len(l.Text))
	binary.BigEndian.PutUint64(rec, uint64(l.Time.UnixNano()))
	rec[8] = streamStdout
	if l.Stream == "stderr" {
		rec[8] = streamStderr
	}
	if l.Partial {
		rec[8] |= flagPartial
	}
	binary.BigEndian.PutUint32(rec[9:], uint32(len(l.Text)))
	rec = append(rec, l.Text...)

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err == nil && !b.closed {
		n, err := b.file.Write(rec)
		b.size += int64(n)
		if err != nil {
			b.err = err
		}
	}
	b.lines = append(b.lines, entry{line: l, end: b.size})
	b.memBytes += len(l.Text)
	// Trim only once memory holds twice the limit, so trimming is amortized.
	// Nothing is dropped after a write error: the file could not replay it.
	if b.err == nil && b.memBytes > 2*b.memLimit {
		drop := 0
		for b.memBytes > b.memLimit && drop < len(b.lines)-1 {
			b.memBytes -= len(b.lines[drop].line.Text)
			drop++
		}
		b.lines = append(b.lines[:0:0], b.lines[drop:]...)
		b.first += int64(drop)
	}
	close(b.wake)
	b.wake = make(chan struct{})
}

// close marks the end of the attempt's output; followers return once they
// have delivered every line. The file stays open for them until release.
func (b *logBook) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	close(b.wake)
	return b.err
}

// release closes the file, once nobody will follow the book any more.
func (b *logBook) release() {
	b.file.Close()
}

// follow calls fn for every line from the first, in order, and returns when
// the book is closed and fully delivered, or ctx is done.
func (b *logBook) follow(ctx context.Context, fn func(executor.LogLine)) error {
	var (
		next int64 // sequence number of the next line to deliver
		off  int64 // file offset of that line's record
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.mu.Lock()
		first, closed, wake := b.first, b.closed, b.wake
		var batch []entry
		if next >= first {
			batch = append(batch, b.lines[next-first:]...)
		}
		b.mu.Unlock()

		if next < first {
			n, err := replay(ctx, b.file, off, first-next, fn)
			next += first - next
			off += n
			if err != nil {
				return err
			}
			continue
		}
		for _, e := range batch {
			fn(e.line)
		}
		if len(batch) > 0 {
			next += int64(len(batch))
			off = batch[len(batch)-1].end
			continue
		}
		if closed {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// replay delivers count records from f starting at off and returns how many
// bytes it read.
func replay(ctx context.Context, f *os.File, off, count int64, fn func(executor.LogLine)) (int64, error) {
	r := bufio.NewReader(io.NewSectionReader(f, off, 1<<62))
	var read int64
	var hdr [recordHeader]byte
	for range count {
		if err := ctx.Err(); err != nil {
			return read, err
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return read, fmt.Errorf("read log: %w", err)
		}
		size := binary.BigEndian.Uint32(hdr[9:])
		if size > uint32(maxLine) {
			return read, fmt.Errorf("read log: a record of %d bytes, longer than a line can be: the file was changed", size)
		}
		text := make([]byte, size)
		if _, err := io.ReadFull(r, text); err != nil {
			return read, fmt.Errorf("read log: %w", err)
		}
		read += int64(recordHeader + len(text))
		stream := "stdout"
		if hdr[8]&^flagPartial == streamStderr {
			stream = "stderr"
		}
		fn(executor.LogLine{
			Time:    time.Unix(0, int64(binary.BigEndian.Uint64(hdr[:]))),
			Stream:  stream,
			Text:    string(text),
			Partial: hdr[8]&flagPartial != 0,
		})
	}
	return read, nil
}
