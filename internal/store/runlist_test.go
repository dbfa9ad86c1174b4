package store_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/baton-dev/baton/internal/store"
)

func TestCheckRunList(t *testing.T) {
	most := map[string]string{}
	for i := range store.MaxRunListParams {
		most[fmt.Sprintf("p%02d", i)] = ""
	}
	tooMany := map[string]string{"one more": ""}
	for k, v := range most {
		tooMany[k] = v
	}
	long := strings.Repeat("n", store.MaxRunListParamName+1)
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"none", nil, ""},
		{"fine", map[string]string{"env": "prod", "empty": "", "nul": "a\x00b"}, ""},
		{"at the bounds", map[string]string{strings.Repeat("n", store.MaxRunListParamName): strings.Repeat("v", store.MaxRunListParamValue)}, ""},
		{"the most params", most, ""},
		{"too many params", tooMany, "17 params to filter on; the limit is 16"},
		{"empty name", map[string]string{"": "v"}, "a param to filter on has an empty name; write NAME=VALUE"},
		{"long name", map[string]string{long: "v"}, fmt.Sprintf("param name %q is 257 bytes; the limit is 256", long[:40])},
		{"name not UTF-8", map[string]string{"a\xff": "v"}, `param name "a\xff" is not valid UTF-8`},
		{"long value", map[string]string{"env": strings.Repeat("v", store.MaxRunListParamValue+1)}, `the value of param "env" is 4097 bytes; the limit is 4096`},
		{"value not UTF-8", map[string]string{"env": "secret\xff"}, `the value of param "env" is not valid UTF-8`},
	} {
		wantErr(t, tc.name, store.CheckRunList(&store.RunListParams{Params: tc.params}), tc.want)
	}
}

func TestCheckRunStatuses(t *testing.T) {
	wantErr(t, "none", store.CheckRunStatuses(nil), "")
	wantErr(t, "all", store.CheckRunStatuses(store.AllRunStatuses()), "")
	wantErr(t, "unknown", store.CheckRunStatuses([]store.RunStatus{store.RunQueued, "paused"}),
		`unknown status "paused"; the statuses are queued, running, succeeded, failed, canceled`)
	all := store.AllRunStatuses()
	all[0] = "changed"
	if store.AllRunStatuses()[0] != store.RunQueued {
		t.Error("AllRunStatuses shares its slice with callers")
	}
}
