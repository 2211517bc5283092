package starter

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// FuzzScheduleSpec: whatever the flags, the schedule options are refused
// naming a flag, or make the spec that was asked for (a cron expression as
// given, for Temporal to judge, or an interval; the time zone) and describe
// it in words that say the same; and any calendar Temporal may hold is
// described as a cron expression that means exactly its times.
func FuzzScheduleSpec(f *testing.F) {
	f.Add("0 22 * * 1-5", int64(0), "", []byte{0, 22, 1, 5})
	f.Add("", int64(3600), "Europe/Paris", []byte{9, 17, 0, 59, 15})
	f.Add("CRON_TZ=Asia/Tokyo 30 6 * * MON-FRI", int64(0), "", []byte{30, 30, 200, 7, 3, 1})
	f.Add("@daily", int64(60), "Local", []byte{})
	f.Add(" \t", int64(59), "Mars/Base", []byte{255, 0, 255, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Fuzz(func(t *testing.T, cron string, everySeconds int64, tz string, cal []byte) {
		every := time.Duration(everySeconds%(1<<30)) * time.Second
		o := ScheduleOptions{ID: "s", Cron: cron, Every: every, TimeZone: tz}
		if err := o.Validate(); err != nil {
			msg := err.Error()
			if !strings.Contains(msg, "--cron") && !strings.Contains(msg, "--every") && !strings.Contains(msg, "--time-zone") {
				t.Fatalf("refusal names no flag: %v", err)
			}
		} else {
			sp := scheduleSpec(o.Cron, o.Every, o.TimeZone)
			words := describeSpec(&sp)
			if sp.TimeZoneName != tz {
				t.Fatalf("time zone %q, want %q", sp.TimeZoneName, tz)
			}
			switch c := strings.TrimSpace(cron); {
			case c != "":
				if len(sp.CronExpressions) != 1 || sp.CronExpressions[0] != c || len(sp.Intervals) != 0 {
					t.Fatalf("cron %q made %+v", cron, sp)
				}
				zone := tz
				if zone == "" {
					zone = "UTC"
				}
				if words != "cron "+c+" ("+zone+")" {
					t.Fatalf("cron %q in %q described as %q", cron, tz, words)
				}
			default:
				if len(sp.Intervals) != 1 || sp.Intervals[0].Every != every || len(sp.CronExpressions) != 0 {
					t.Fatalf("every %s made %+v", every, sp)
				}
				if words != "every "+every.String() {
					t.Fatalf("every %s described as %q", every, words)
				}
			}
		}

		c := calendarOf(cal)
		text := calendarCron(c)
		got, err := cronTimes(text)
		if err != nil {
			t.Fatalf("calendar %+v described as %q: %v", c, text, err)
		}
		for i, fl := range calendarFields {
			want := rangeValues(calendarRanges(c)[i], fl.min, fl.max, fl.empty)
			if got[i] != want {
				t.Fatalf("calendar %+v described as %q: %s %s, want %s", c, text, fl.name, got[i], want)
			}
		}
	})
}

func calendarRanges(c client.ScheduleCalendarSpec) [][]client.ScheduleRange {
	return [][]client.ScheduleRange{c.Second, c.Minute, c.Hour, c.DayOfMonth, c.Month, c.DayOfWeek, c.Year}
}

// calendarOf makes a calendar of bytes: per field a count, then start, end
// and step of each range, within the field's bounds (years 2000-2255).
func calendarOf(b []byte) client.ScheduleCalendarSpec {
	next := func() int {
		if len(b) == 0 {
			return 0
		}
		v := int(b[0])
		b = b[1:]
		return v
	}
	var fields [7][]client.ScheduleRange
	for i, fl := range calendarFields {
		lo, hi := fl.min, fl.max
		if hi == 0 {
			lo, hi = 2000, 2255
		}
		for n := next() % 4; n > 0; n-- {
			r := client.ScheduleRange{Start: lo + next()%(hi-lo+1), End: lo + next()%(hi-lo+1), Step: next() % (hi - lo + 2)}
			fields[i] = append(fields[i], r)
		}
	}
	return client.ScheduleCalendarSpec{Second: fields[0], Minute: fields[1], Hour: fields[2], DayOfMonth: fields[3],
		Month: fields[4], DayOfWeek: fields[5], Year: fields[6]}
}

// rangeValues is the set of values ranges mean, as text: "*" for any.
func rangeValues(rs []client.ScheduleRange, lo, hi, empty int) string {
	if len(rs) == 0 {
		if empty < 0 {
			return "*"
		}
		return strconv.Itoa(empty)
	}
	set := map[int]bool{}
	for _, r := range rs {
		end, step := max(r.End, r.Start), max(r.Step, 1)
		for v := r.Start; v <= end; v += step {
			set[v] = true
		}
	}
	return valuesText(set, lo, hi)
}

func valuesText(set map[int]bool, lo, hi int) string {
	if hi > 0 {
		all := true
		for v := lo; v <= hi; v++ {
			all = all && set[v]
		}
		if all {
			return "*"
		}
	}
	var vs []string
	for v := 0; v <= 2255; v++ {
		if set[v] {
			vs = append(vs, strconv.Itoa(v))
		}
	}
	return strings.Join(vs, ",")
}

// cronTimes reads a cron expression of 5, 6 or 7 numeric fields back into
// the values of each calendar field, in calendarFields' order.
func cronTimes(expr string) ([7]string, error) {
	var out [7]string
	fields := strings.Fields(expr)
	var all [7]string
	switch len(fields) {
	case 5:
		all = [7]string{"0", fields[0], fields[1], fields[2], fields[3], fields[4], "*"}
	case 6:
		all = [7]string{"0", fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]}
	case 7:
		copy(all[:], fields)
	default:
		return out, fmt.Errorf("%d fields", len(fields))
	}
	for i, fl := range calendarFields {
		set := map[int]bool{}
		for _, part := range strings.Split(all[i], ",") {
			rng, stepText, hasStep := strings.Cut(part, "/")
			step := 1
			if hasStep {
				n, err := strconv.Atoi(stepText)
				if err != nil || n < 1 {
					return out, fmt.Errorf("%s: step %q", fl.name, stepText)
				}
				step = n
			}
			lo, hi := fl.min, fl.max
			if rng != "*" {
				a, b, isRange := strings.Cut(rng, "-")
				var err error
				if lo, err = strconv.Atoi(a); err != nil {
					return out, fmt.Errorf("%s: %q", fl.name, part)
				}
				hi = lo
				if isRange {
					if hi, err = strconv.Atoi(b); err != nil || hi < lo {
						return out, fmt.Errorf("%s: %q", fl.name, part)
					}
				}
			} else if fl.max == 0 {
				if hasStep {
					return out, fmt.Errorf("%s: a step of any year", fl.name)
				}
				out[i] = "*"
				break
			}
			for v := lo; v <= hi; v += step {
				set[v] = true
			}
		}
		if out[i] == "" {
			out[i] = valuesText(set, fl.min, fl.max)
		}
	}
	return out, nil
}
