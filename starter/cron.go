package starter

import (
	"fmt"
	"strconv"
	"strings"
)

// cronFields are the five fields of a cron expression: name, range, and the
// names the field accepts for its values.
var cronFields = []struct {
	name     string
	min, max int
	names    []string
}{
	{"minute", 0, 59, nil},
	{"hour", 0, 23, nil},
	{"day of month", 1, 31, nil},
	{"month", 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	{"day of week", 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

var cronMacros = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

// ValidateCron checks a standard 5-field cron expression (minute hour
// day-of-month month day-of-week, with *, lists, ranges, steps and month and
// day names) or one of the @yearly ... @hourly macros, so that a malformed
// one is refused before anything is created. The message names the field.
func ValidateCron(expr string) error {
	e := strings.TrimSpace(expr)
	if strings.HasPrefix(e, "@") {
		for _, m := range cronMacros {
			if strings.EqualFold(e, m) {
				return nil
			}
		}
		return fmt.Errorf("cron %q: unknown macro; use one of %s, or five fields", expr, strings.Join(cronMacros, ", "))
	}
	fields := strings.Fields(e)
	if len(fields) != len(cronFields) {
		return fmt.Errorf("cron %q has %d fields; want 5: minute hour day-of-month month day-of-week, e.g. \"0 22 * * 1-5\"", expr, len(fields))
	}
	for i, f := range fields {
		spec := cronFields[i]
		for _, part := range strings.Split(f, ",") {
			if err := checkCronPart(part, spec.min, spec.max, spec.names); err != nil {
				return fmt.Errorf("cron %q, %s field %q: %v", expr, spec.name, f, err)
			}
		}
	}
	return nil
}

func checkCronPart(part string, lo, hi int, names []string) error {
	if part == "" {
		return fmt.Errorf("empty list item")
	}
	rng, step, hasStep := strings.Cut(part, "/")
	if hasStep {
		n, err := strconv.Atoi(step)
		if err != nil || n < 1 {
			return fmt.Errorf("step %q is not a positive number", step)
		}
	}
	if rng == "*" {
		return nil
	}
	from, to, isRange := strings.Cut(rng, "-")
	a, err := cronValue(from, lo, hi, names)
	if err != nil {
		return err
	}
	if !isRange {
		return nil
	}
	b, err := cronValue(to, lo, hi, names)
	if err != nil {
		return err
	}
	if b < a {
		return fmt.Errorf("range %s runs backwards", rng)
	}
	return nil
}

func cronValue(s string, lo, hi int, names []string) (int, error) {
	for i, n := range names {
		if strings.EqualFold(s, n) {
			if lo == 1 {
				return i + 1, nil
			}
			return i, nil
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range %d-%d", n, lo, hi)
	}
	return n, nil
}
