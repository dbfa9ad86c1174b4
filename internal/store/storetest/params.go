package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/store"
)

// createRunWith creates a run of pipeline p, with params, and no steps.
func createRunWith(t *testing.T, s store.Store, id, p string, now time.Time, params map[string]string) {
	t.Helper()
	_, err := s.RunCreate(t.Context(), &store.RunCreateParams{
		ID: id, Pipeline: p, Revision: 1, Executor: "noop", Params: params, Now: now,
	})
	must(t, err, "RunCreate "+id)
}

// testRunListParams: RunList keeps the runs whose params hold every pair
// given, with exactly that value, whatever text the names and values
// hold; with the other filters, newest first and paged by cursor. A filter
// over the bounds is refused.
func testRunListParams(t *testing.T, s store.Store) {
	ctx := t.Context()
	for i, r := range []struct {
		id, pipeline string
		params       map[string]string
	}{
		{"r01", "p", map[string]string{"env": "prod", "region": "eu"}},
		{"r02", "p", map[string]string{"env": "prod", "region": "us"}},
		{"r03", "p", map[string]string{"env": "staging"}},
		{"r04", "p", map[string]string{"env": "prod2", "xenv": "prod"}},
		{"r05", "p", map[string]string{`x"env`: "prod", "note": `"env":"prod"`}},
		{"r06", "p", map[string]string{"env": "a\x00b", "other": "\x00"}}, // PostgreSQL's JSON operators refuse the row
		{"r07", "p", nil},
		{"r08", "p", map[string]string{"env": ""}},
		{"r09", "q", map[string]string{"env": "prod", "region": "eu"}},
		{"r10", "p", map[string]string{"env": "PROD", "quote": `say "hi" \`}},
	} {
		createRunWith(t, s, r.id, r.pipeline, at(i+1), r.params)
	}
	must(t, s.RunSetStatus(ctx, &store.RunSetStatusParams{ID: "r02", Status: store.RunSucceeded, Now: at(20)}), "RunSetStatus r02")
	list := func(p store.RunListParams) []string {
		t.Helper()
		rows, err := s.RunList(ctx, &p)
		must(t, err, fmt.Sprintf("RunList %+v", p))
		return runIDs(rows)
	}
	for _, tc := range []struct {
		what string
		p    store.RunListParams
		want []string
	}{
		{"env=prod", store.RunListParams{Params: map[string]string{"env": "prod"}}, []string{"r09", "r02", "r01"}},
		{"two params", store.RunListParams{Params: map[string]string{"env": "prod", "region": "eu"}}, []string{"r09", "r01"}},
		{"of one pipeline", store.RunListParams{Pipeline: "p", Params: map[string]string{"region": "eu"}}, []string{"r01"}},
		{"of one status", store.RunListParams{Statuses: []store.RunStatus{store.RunSucceeded}, Params: map[string]string{"env": "prod"}}, []string{"r02"}},
		{"by time", store.RunListParams{Since: at(2), Until: at(9), Params: map[string]string{"env": "prod"}}, []string{"r02"}},
		{"before a cursor", store.RunListParams{Before: "r09", Params: map[string]string{"env": "prod"}}, []string{"r02", "r01"}},
		{"a cursor that does not match", store.RunListParams{Before: "r03", Params: map[string]string{"env": "prod"}}, []string{"r02", "r01"}},
		{"a prefix of a value", store.RunListParams{Params: map[string]string{"env": "pro"}}, nil},
		{"a value in another case", store.RunListParams{Params: map[string]string{"env": "PROD"}}, []string{"r10"}},
		{"a name with a quote", store.RunListParams{Params: map[string]string{`x"env`: "prod"}}, []string{"r05"}},
		{"a pair inside a value", store.RunListParams{Params: map[string]string{"note": `"env":"prod"`}}, []string{"r05"}},
		{"quotes and a backslash", store.RunListParams{Params: map[string]string{"quote": `say "hi" \`}}, []string{"r10"}},
		{"a NUL", store.RunListParams{Params: map[string]string{"env": "a\x00b"}}, []string{"r06"}},
		{"an empty value", store.RunListParams{Params: map[string]string{"env": ""}}, []string{"r08"}},
		{"a name no run has", store.RunListParams{Params: map[string]string{"nope": ""}}, nil},
		{"one pair matches, the other not", store.RunListParams{Params: map[string]string{"env": "prod", "region": "ap"}}, nil},
		{"an empty filter", store.RunListParams{Params: map[string]string{}, Pipeline: "q"}, []string{"r09"}},
	} {
		if got := list(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.what, got, tc.want)
		}
	}
	// Pages of one run follow each other over the runs that match.
	var got []string
	for before := ""; ; {
		page := list(store.RunListParams{Limit: 1, Before: before, Params: map[string]string{"env": "prod"}})
		if len(page) == 0 {
			break
		}
		got = append(got, page...)
		before = page[0]
	}
	if want := []string{"r09", "r02", "r01"}; !slices.Equal(got, want) {
		t.Errorf("pages of one run: %q, want %q", got, want)
	}

	most, tooMany := map[string]string{}, map[string]string{"one more": "v"}
	for i := range store.MaxRunListParams {
		most[fmt.Sprintf("p%d", i)] = "v"
		tooMany[fmt.Sprintf("p%d", i)] = "v"
	}
	for _, tc := range []struct {
		what   string
		params map[string]string
	}{
		{"too many params", tooMany},
		{"an empty name", map[string]string{"": "v"}},
		{"a long name", map[string]string{strings.Repeat("n", store.MaxRunListParamName+1): "v"}},
		{"a long value", map[string]string{"env": strings.Repeat("v", store.MaxRunListParamValue+1)}},
		{"a name not UTF-8", map[string]string{"e\xffnv": "v"}},
		{"a value not UTF-8", map[string]string{"env": "\xff"}},
	} {
		if rows, err := s.RunList(ctx, &store.RunListParams{Params: tc.params}); err == nil {
			t.Errorf("%s: got %d runs, want an error", tc.what, len(rows))
		}
	}
	for _, p := range []map[string]string{
		most,
		{strings.Repeat("n", store.MaxRunListParamName): "v"},
		{"env": strings.Repeat("v", store.MaxRunListParamValue)},
	} {
		if _, err := s.RunList(ctx, &store.RunListParams{Params: p}); err != nil {
			t.Errorf("a filter at the bounds: %v", err)
		}
	}
}
