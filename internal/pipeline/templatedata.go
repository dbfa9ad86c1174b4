package pipeline

import (
	"fmt"
	"slices"
	"time"
)

// templateData is what a var template sees as dot.
type templateData struct {
	Params   map[string]string
	Vars     map[string]string
	Run      runData
	Pipeline struct{ Name string }
}

// runData is .Run: [RunFacts] with Time as a [runTime].
type runData struct {
	ID   string
	Time runTime
}

// runTime is .Run.Time: the methods of time.Time a template has use for,
// with Format's layout bounded. A time.Time itself would offer Format and
// AppendFormat unbounded, and reach them again through Add, UTC and the
// rest, which return a time.Time.
type runTime struct{ t time.Time }

// runTimeMethods are the methods of [runTime], for the message that
// refuses another.
var runTimeMethods = []string{
	"Add", "AddDate", "Day", "Format", "Hour", "IsZero", "Local", "Minute", "Month", "Nanosecond",
	"Round", "Second", "String", "Truncate", "UTC", "Unix", "UnixMicro", "UnixMilli", "UnixNano",
	"Weekday", "Year", "YearDay",
}

// Format is time.Time's Format with the layout at most [maxLayoutBytes].
func (r runTime) Format(layout string) (string, error) {
	if len(layout) > maxLayoutBytes {
		return "", fmt.Errorf("the layout is %d bytes; the limit is %d", len(layout), maxLayoutBytes)
	}
	return r.t.Format(layout), nil
}

// String is time.Time's String, what {{ .Run.Time }} prints.
func (r runTime) String() string { return r.t.String() }

// Unix is time.Time's Unix.
func (r runTime) Unix() int64 { return r.t.Unix() }

// UnixMilli is time.Time's UnixMilli.
func (r runTime) UnixMilli() int64 { return r.t.UnixMilli() }

// UnixMicro is time.Time's UnixMicro.
func (r runTime) UnixMicro() int64 { return r.t.UnixMicro() }

// UnixNano is time.Time's UnixNano.
func (r runTime) UnixNano() int64 { return r.t.UnixNano() }

// Year is time.Time's Year.
func (r runTime) Year() int { return r.t.Year() }

// Month is time.Time's Month.
func (r runTime) Month() time.Month { return r.t.Month() }

// Day is time.Time's Day.
func (r runTime) Day() int { return r.t.Day() }

// YearDay is time.Time's YearDay.
func (r runTime) YearDay() int { return r.t.YearDay() }

// Weekday is time.Time's Weekday.
func (r runTime) Weekday() time.Weekday { return r.t.Weekday() }

// Hour is time.Time's Hour.
func (r runTime) Hour() int { return r.t.Hour() }

// Minute is time.Time's Minute.
func (r runTime) Minute() int { return r.t.Minute() }

// Second is time.Time's Second.
func (r runTime) Second() int { return r.t.Second() }

// Nanosecond is time.Time's Nanosecond.
func (r runTime) Nanosecond() int { return r.t.Nanosecond() }

// IsZero is time.Time's IsZero.
func (r runTime) IsZero() bool { return r.t.IsZero() }

// UTC is time.Time's UTC.
func (r runTime) UTC() runTime { return runTime{r.t.UTC()} }

// Local is time.Time's Local.
func (r runTime) Local() runTime { return runTime{r.t.Local()} }

// Add is time.Time's Add.
func (r runTime) Add(d time.Duration) runTime { return runTime{r.t.Add(d)} }

// AddDate is time.Time's AddDate.
func (r runTime) AddDate(years, months, days int) runTime {
	return runTime{r.t.AddDate(years, months, days)}
}

// Truncate is time.Time's Truncate.
func (r runTime) Truncate(d time.Duration) runTime { return runTime{r.t.Truncate(d)} }

// Round is time.Time's Round.
func (r runTime) Round(d time.Duration) runTime { return runTime{r.t.Round(d)} }

// isRunTimeMethod reports whether .Run.Time has the method name.
func isRunTimeMethod(name string) bool { return slices.Contains(runTimeMethods, name) }
