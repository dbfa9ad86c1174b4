package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/baton-dev/baton/internal/api"
	"github.com/baton-dev/baton/internal/store"
)

// TestListRunsByParam: GET /api/v1/runs?param=NAME=VALUE, repeated, lists
// the runs whose params hold every pair, with the other filters; a param
// that is not NAME=VALUE, a name given twice or a filter over the store's
// bounds is 400.
func TestListRunsByParam(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, r := range []struct {
		id, pipeline string
		params       map[string]string
	}{
		{"r1", "deploy", map[string]string{"env": "prod", "region": "eu"}},
		{"r2", "deploy", map[string]string{"env": "prod", "region": "us"}},
		{"r3", "deploy", map[string]string{"env": "staging", "expr": "a=b&c"}},
		{"r4", "build", map[string]string{"env": "prod", "tag": ""}},
	} {
		// Ended at once, so that the engine has nothing to drive.
		if _, err := s.st.RunCreate(ctx, &store.RunCreateParams{ID: r.id, Pipeline: r.pipeline, Revision: 1,
			Executor: "noop", Params: r.params, Now: base.Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if err := s.st.RunSetStatus(ctx, &store.RunSetStatusParams{ID: r.id, Status: store.RunSucceeded, Now: base}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(query string) []string {
		t.Helper()
		code, body := s.do("GET", "/api/v1/runs?"+query, "")
		if code != http.StatusOK {
			t.Fatalf("GET ?%s: %d %s", query, code, body)
		}
		var runs []api.Run
		if err := json.Unmarshal([]byte(body), &runs); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range runs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"param=env=prod", []string{"r4", "r2", "r1"}},
		{"param=env=prod&param=region=eu", []string{"r1"}},
		{"param=env=prod&pipeline=deploy", []string{"r2", "r1"}},
		{"param=env=prod&pipeline=deploy&limit=1&before=r2", []string{"r1"}},
		{"param=env=prod&status=failed", nil},
		{"param=env=pro", nil},
		{"param=tag=", []string{"r4"}},
		// The first '=' ends the name; the value may hold more.
		{"param=" + url.QueryEscape("expr=a=b&c"), []string{"r3"}},
		{"param=expr=a", nil},
	} {
		if got := list(tc.query); !slices.Equal(got, tc.want) {
			t.Errorf("?%s: got %q, want %q", tc.query, got, tc.want)
		}
	}

	many := make([]string, store.MaxRunListParams+1)
	for i := range many {
		many[i] = fmt.Sprintf("param=p%d=v", i)
	}
	for _, tc := range []struct{ query, want string }{
		{"param=env", `param \"env\" is not NAME=VALUE; write e.g. param=env=prod`},
		{"param=", `param \"\" is not NAME=VALUE`},
		{"param==prod", "a param to filter on has an empty name; write NAME=VALUE"},
		{"param=env=prod&param=env=staging", `param \"env\" is given twice; give each name once`},
		{strings.Join(many, "&"), "17 params to filter on; the limit is 16"},
		{"param=env=" + strings.Repeat("v", store.MaxRunListParamValue+1), `the value of param \"env\" is 4097 bytes; the limit is 4096`},
		{"param=env=%FF", `the value of param \"env\" is not valid UTF-8`},
	} {
		code, body := s.do("GET", "/api/v1/runs?"+tc.query, "")
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("?%.60s: %d %s, want 400 with %s", tc.query, code, body, tc.want)
		}
	}
}
