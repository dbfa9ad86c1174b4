package browsertest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
)

// Bounds on what a page can make the test keep.
const (
	maxMessages    = 500
	maxMessageText = 1000
)

// record is every tab's event listener. It runs in the tab's read loop, so
// it only formats and appends.
func (b *Browser) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, args(ev.Args))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		if d == nil {
			return
		}
		text := d.Text
		if d.Exception != nil {
			desc, _, _ := strings.Cut(value(d.Exception), "\n")
			text += " " + desc
		}
		msg = fmt.Sprintf("exception: %s (%s:%d)", text, d.URL, d.LineNumber+1)
	case *log.EventEntryAdded:
		e := ev.Entry
		// A CSP violation is an error, and in report-only mode a warning:
		// both must show.
		if e == nil || (e.Level != log.EntryLevelError && e.Source != log.EntrySourceSecurity) {
			return
		}
		msg = fmt.Sprintf("%s %s: %s", e.Source, e.Level, e.Text)
		if e.URL != "" {
			msg += " (" + e.URL + ")"
		}
	default:
		return
	}
	if len(msg) > maxMessageText {
		msg = strings.ToValidUTF8(msg[:maxMessageText], "") + "…"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.console) < maxMessages {
		b.console = append(b.console, msg)
	}
}

// args renders console arguments the way DevTools shows simple ones.
func args(objs []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(objs))
	for _, o := range objs {
		parts = append(parts, value(o))
	}
	return strings.Join(parts, " ")
}

// value renders one remote object: a string as itself, anything else by its
// value or description.
func value(o *runtime.RemoteObject) string {
	if o == nil {
		return "null"
	}
	if o.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal(o.Value, &s) == nil {
			return s
		}
	}
	switch {
	case o.UnserializableValue != "":
		return string(o.UnserializableValue)
	case o.Description != "":
		return o.Description
	case len(o.Value) > 0:
		return string(o.Value)
	}
	return string(o.Type)
}
