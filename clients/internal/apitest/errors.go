package apitest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// CheckAPIError fails the test unless err is, or wraps, a *E (the client's
// *APIError) equal to want, and returns it. The report cuts a long error
// (an oversized body's Message) short.
func CheckAPIError[E any, P interface {
	*E
	error
}](t *testing.T, err error, want E) P {
	t.Helper()
	var got P
	if !errors.As(err, &got) {
		t.Fatalf("error %v (%T) is not a %T", err, err, got)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("%T = %s\nwant %s", got, shorten(fmt.Sprintf("%+v", *got)), shorten(fmt.Sprintf("%+v", want)))
	}
	return got
}

// shorten cuts s, the print of an error, to a length a report can show.
func shorten(s string) string {
	const most = 400
	if len(s) > most {
		return s[:most] + "..."
	}
	return s
}

// CheckMessage checks err's message: all of it when whole is not empty, and
// that it contains each of parts.
func CheckMessage(t *testing.T, err error, whole string, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %q", whole+strings.Join(parts, " ... "))
	}
	if whole != "" && err.Error() != whole {
		t.Errorf("Error() = %q\nwant      %q", err, whole)
	}
	for _, s := range parts {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("Error() = %q, missing %q", err, s)
		}
	}
}

// CheckError fails the test unless err is an error whose message contains
// want and none of secrets (credentials, or text that holds them).
func CheckError(t *testing.T, err error, want string, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want an error that mentions %q", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
	NotShown(t, "error", err.Error(), secrets...)
}

// NotShown fails the test for each of secrets that text, the print of what,
// shows.
func NotShown(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, secret := range secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("%s %q shows %q", what, text, secret)
		}
	}
}

// ArgCase is a call the client must reject before it makes any request, and
// what the error must mention.
type ArgCase struct {
	Name string
	Call func() error
	Want string
}

// CheckArgErrors runs each case as a subtest: its error must wrap sentinel
// (the client's ErrInvalidArgument, which callers never retry), start with
// prefix ("<client>: invalid argument: ") and mention Want.
func CheckArgErrors(t *testing.T, sentinel error, prefix string, cases []ArgCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			err := tt.Call()
			if !errors.Is(err, sentinel) {
				t.Fatalf("err = %v, want %v", err, sentinel)
			}
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.Want) {
				t.Errorf("err = %q, want %q... that mentions %q", err, prefix, tt.Want)
			}
		})
	}
}
