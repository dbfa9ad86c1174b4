package api

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/baton-dev/baton/internal/engine"
	"github.com/baton-dev/baton/internal/executor/noop"
	"github.com/baton-dev/baton/internal/store/sqlite"
)

// loadOpenAPI parses and validates the served document with kin-openapi, a
// full OpenAPI 3 validator: structure, references, schemas, examples.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapiJSON)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// routesOf returns the routes a server registers, by "METHOD PATH".
func routesOf(t *testing.T) map[string]route {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "baton.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	eng, err := engine.New(engine.Config{Store: st, Executor: noop.New()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close(context.Background()) })
	s := New(eng, st, Options{})
	out := make(map[string]route, len(s.routes))
	for _, rt := range s.routes {
		out[rt.pattern] = rt
	}
	return out
}

// TestOpenAPILints checks the document the way a linter would, with rules
// of our own on top of kin-openapi's validation: every operation has an
// operationId (unique), a summary, the 4xx answers it can give, and every
// object schema says which fields are required.
func TestOpenAPILints(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	if len(doc.Servers) == 0 {
		t.Error("openapi.json lists no servers")
	}
	ids := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			switch {
			case op.OperationID == "":
				t.Errorf("%s has no operationId", where)
			case ids[op.OperationID] != "":
				t.Errorf("%s and %s share operationId %q", where, ids[op.OperationID], op.OperationID)
			}
			ids[op.OperationID] = where
			if op.Summary == "" {
				t.Errorf("%s has no summary", where)
			}
			has4xx := false
			for code, resp := range op.Responses.Map() {
				if strings.HasPrefix(code, "4") {
					has4xx = true
					if resp.Value == nil || resp.Value.Description == nil || *resp.Value.Description == "" {
						t.Errorf("%s answer %s has no description", where, code)
					}
				}
			}
			if !has4xx {
				t.Errorf("%s documents no 4xx answer", where)
			}
		}
	}
	for name, ref := range doc.Components.Schemas {
		if ref.Value.Type.Is("object") && len(ref.Value.Properties) > 0 && len(ref.Value.Required) == 0 {
			t.Errorf("schema %s says no field is required", name)
		}
	}
}

// TestOpenAPIMatchesRoutes checks that the document and the server's routes
// are the same set, and that each operation documents what the route's
// guards answer: 401 and 403 for a role, 415 and the content types for a
// body, 400 for a body where none is taken.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	doc := loadOpenAPI(t)
	routes := routesOf(t)
	documented := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op
		}
	}
	for _, pattern := range slices.Sorted(maps.Keys(routes)) {
		rt := routes[pattern]
		op, ok := documented[pattern]
		if !ok {
			t.Errorf("route %s is not in openapi.json", pattern)
			continue
		}
		want := []string{"403"}
		if rt.need != "" {
			want = append(want, "401")
			if role, _ := op.Extensions["x-baton-role"].(string); role != string(rt.need) {
				t.Errorf("%s: x-baton-role %q, the route needs %q", pattern, role, rt.need)
			}
		}
		if rt.accepts == nil {
			want = append(want, "400")
			if op.RequestBody != nil {
				t.Errorf("%s takes no body, but openapi.json documents one", pattern)
			}
		} else if rt.need != "" {
			want = append(want, "415")
			if op.RequestBody == nil {
				t.Errorf("%s needs a Content-Type, but openapi.json documents no request body", pattern)
			} else if got := slices.Sorted(maps.Keys(op.RequestBody.Value.Content)); !slices.Equal(got, slices.Sorted(slices.Values(rt.accepts))) {
				t.Errorf("%s: openapi.json lists content types %q, the route takes %q", pattern, got, rt.accepts)
			}
		}
		for _, code := range want {
			if op.Responses.Value(code) == nil {
				t.Errorf("%s does not document its %s answer", pattern, code)
			}
		}
	}
	for pattern := range documented {
		if _, ok := routes[pattern]; !ok {
			t.Errorf("openapi.json documents %s, which the server does not serve", pattern)
		}
	}
}
