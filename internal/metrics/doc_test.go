package metrics

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestEveryMetricDocumented: each of baton's metrics has a row in the
// metrics table of docs/api.md, so a new one cannot go unexplained.
func TestEveryMetricDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	m := New()
	v := reflect.ValueOf(m).Elem()
	n := 0
	for i := range v.NumField() {
		if !v.Field(i).CanInterface() {
			continue
		}
		c, ok := v.Field(i).Interface().(prometheus.Collector)
		if !ok {
			continue
		}
		descs := make(chan *prometheus.Desc, 8)
		c.Describe(descs)
		close(descs)
		for d := range descs {
			name := fqName.FindStringSubmatch(d.String())
			if name == nil {
				t.Fatalf("no name in %s", d)
			}
			n++
			if !strings.Contains(string(doc), "| `"+name[1]+"` |") {
				t.Errorf("metric %s (field %s) has no row in docs/api.md", name[1], v.Type().Field(i).Name)
			}
		}
	}
	if n < 10 {
		t.Fatalf("found %d metrics: the walk over the fields is broken", n)
	}
}
