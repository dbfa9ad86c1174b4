package store

import (
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// The bounds of [RunListParams.Params]: a filter is typed by a person or
// built by a page, and a store checks each pair against every run it
// scans.
const (
	// MaxRunListParams is the most params one listing filters on.
	MaxRunListParams = 16
	// MaxRunListParamName is the longest param name, in bytes, a listing
	// filters on: the longest a param's name can be.
	MaxRunListParamName = 256
	// MaxRunListParamValue is the longest value, in bytes, a listing
	// filters on.
	MaxRunListParamValue = 4096
)

// CheckRunList refuses p when its Params filter is over the bounds above,
// has an empty name, or a name or value that is not UTF-8: no run's
// params could match it as given. Errors name the param, shortened, and
// never echo a value.
func CheckRunList(p *RunListParams) error {
	if len(p.Params) > MaxRunListParams {
		return fmt.Errorf("%d params to filter on; the limit is %d", len(p.Params), MaxRunListParams)
	}
	for _, name := range slices.Sorted(maps.Keys(p.Params)) {
		value := p.Params[name]
		switch {
		case name == "":
			return fmt.Errorf("a param to filter on has an empty name; write NAME=VALUE")
		case len(name) > MaxRunListParamName:
			return fmt.Errorf("param name %.40q is %d bytes; the limit is %d", name, len(name), MaxRunListParamName)
		case !utf8.ValidString(name):
			return fmt.Errorf("param name %.40q is not valid UTF-8", name)
		case len(value) > MaxRunListParamValue:
			return fmt.Errorf("the value of param %.40q is %d bytes; the limit is %d", name, len(value), MaxRunListParamValue)
		case !utf8.ValidString(value):
			return fmt.Errorf("the value of param %.40q is not valid UTF-8", name)
		}
	}
	return nil
}

// CheckRunStatuses refuses a status that is none of the [RunStatus]
// values.
func CheckRunStatuses(statuses []RunStatus) error {
	for _, st := range statuses {
		if !slices.Contains(AllRunStatuses(), st) {
			return fmt.Errorf("unknown status %.40q; the statuses are queued, running, succeeded, failed, canceled", st)
		}
	}
	return nil
}

// AllRunStatuses returns every [RunStatus], in the order a run goes
// through them.
func AllRunStatuses() []RunStatus {
	return []RunStatus{RunQueued, RunRunning, RunSucceeded, RunFailed, RunCanceled}
}
