package starter

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzValidateCron: no expression panics the cron check; a refusal names the
// expression; what it accepts is a known macro or five fields, each a list
// of *, numbers or names, ranges and steps.
func FuzzValidateCron(f *testing.F) {
	for _, s := range []string{
		"0 22 * * 1-5", "*/15 * * * *", "0 0 1 jan,jul *", "30 6 * * MON-FRI", "0 0 * * 7", "@daily", "@Hourly",
		"5,10-20/5 0 1-31/2 * sun", "0 22 * *", "60 * * * *", "*/0 * * * *", "1,,2 * * * *", "@fortnightly",
		"-1 * * * *", "1-/2 * * * *", "*/+3 * * * *", "99999999999999999999 * * * *", " \t0 0 * * *\n", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		err := ValidateCron(expr)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("cron %q", expr)) {
				t.Fatalf("the error does not name the expression: %v", err)
			}
			return
		}
		e := strings.TrimSpace(expr)
		if strings.HasPrefix(e, "@") {
			for _, m := range cronMacros {
				if strings.EqualFold(e, m) {
					return
				}
			}
			t.Fatalf("accepted %q, no macro", expr)
		}
		fields := strings.Fields(e)
		if len(fields) != 5 {
			t.Fatalf("accepted %q with %d fields", expr, len(fields))
		}
		for _, fl := range fields {
			if strings.Trim(fl, "*/-,0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+") != "" {
				t.Fatalf("accepted %q, whose field %q has other characters", expr, fl)
			}
		}
	})
}
