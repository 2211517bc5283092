package telemetry

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("loud"); err == nil || !strings.Contains(err.Error(), "want debug, info, warn or error") {
		t.Errorf("ParseLevel(loud): %v", err)
	}
}

func TestNewLoggerFormats(t *testing.T) {
	for _, tt := range []struct {
		format   string
		terminal bool
		json     bool
	}{
		{FormatAuto, false, true},
		{"", false, true},
		{FormatAuto, true, false},
		{FormatJSON, true, true},
		{FormatText, false, false},
	} {
		var buf bytes.Buffer
		l, err := NewLogger(&buf, LoggerOptions{Format: tt.format, Terminal: tt.terminal, Level: slog.LevelInfo})
		if err != nil {
			t.Fatal(err)
		}
		l.Debug("hidden")
		l.Info("shown", "k", "v")
		out := buf.String()
		if strings.Contains(out, "hidden") {
			t.Errorf("%q: a debug record passed the info level: %s", tt.format, out)
		}
		var rec map[string]any
		isJSON := json.Unmarshal([]byte(out), &rec) == nil
		if isJSON != tt.json {
			t.Errorf("format %q (terminal %v) wrote %q, want JSON %v", tt.format, tt.terminal, out, tt.json)
		}
	}
	if _, err := NewLogger(&bytes.Buffer{}, LoggerOptions{Format: "xml"}); err == nil {
		t.Error("format xml accepted")
	}
}

func TestNewLoggerRedactsSecrets(t *testing.T) {
	const secret = "s3cr3t-Value-123"
	var buf bytes.Buffer
	l, err := NewLogger(&buf, LoggerOptions{Format: FormatJSON, Level: slog.LevelDebug, Secrets: []string{secret, "short", ""}})
	if err != nil {
		t.Fatal(err)
	}
	l = l.With("token", "Bearer "+secret)
	l.WithGroup("g").Debug("key is "+secret, "err", errors.New("bad key "+secret), slog.Group("req", "auth", secret), "n", 3, "word", "short")
	out := buf.String()
	if strings.Contains(out, secret) {
		t.Fatalf("the secret was written: %s", out)
	}
	for _, want := range []string{`"msg":"key is [redacted]"`, `"token":"Bearer [redacted]"`, `"err":"bad key [redacted]"`, `"auth":"[redacted]"`, `"n":3`, `"word":"short"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s: %s", want, out)
		}
	}
}
