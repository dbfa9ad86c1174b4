package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/baton-dev/baton/internal/suggest"
)

// Error is one problem with the configuration. [Load] returns an *Error,
// or several joined with errors.Join; errors.As finds the first.
type Error struct {
	// Where the bad value came from: FILE:LINE, FILE, a variable's name
	// (BATON_LISTEN) or a flag (--listen); empty for the whole.
	Where string
	// Key is the key, e.g. executors.cluster.namespace; empty for the
	// file as a whole.
	Key string
	// Msg says what is wrong and what to write instead.
	Msg string
}

// Error formats the problem as where: key: message.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Where != "" {
		b.WriteString(e.Where + ": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxErrors bounds how many problems one Load reports.
const maxErrors = 20

// errorList collects problems.
type errorList []*Error

func (l *errorList) add(errs ...*Error) { *l = append(*l, errs...) }

// err returns the problems joined, those of a file in line order.
func (l errorList) err() error {
	if len(l) == 0 {
		return nil
	}
	errs := slices.Clone(l)
	slices.SortStableFunc(errs, func(a, b *Error) int {
		af, al := splitWhere(a.Where)
		bf, bl := splitWhere(b.Where)
		return cmp.Or(cmp.Compare(af, bf), cmp.Compare(al, bl))
	})
	if len(errs) > maxErrors {
		errs = append(errs[:maxErrors:maxErrors], &Error{Msg: fmt.Sprintf("and %d more problems", len(errs)-maxErrors)})
	}
	if len(errs) == 1 {
		return errs[0]
	}
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// splitWhere splits FILE:LINE; line is 0 when there is none.
func splitWhere(where string) (string, int) {
	i := strings.LastIndexByte(where, ':')
	if i < 0 {
		return where, 0
	}
	n, err := strconv.Atoi(where[i+1:])
	if err != nil {
		return where, 0
	}
	return where[:i], n
}

// unknownKey says that key is not one of allowed, suggesting the likely
// one.
func unknownKey(key string, allowed []string) string {
	msg := fmt.Sprintf("unknown field %.64q", key)
	if s := suggest.Closest(key, allowed); s != "" {
		return msg + fmt.Sprintf("; did you mean %q? Allowed: %s", s, listWords(allowed))
	}
	return msg + "; allowed: " + listWords(allowed)
}

// listWords formats names sorted: "a, b and c".
func listWords(names []string) string {
	names = sortedCopy(names)
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
