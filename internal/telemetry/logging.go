package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Log formats and levels, as the flags take them.
const (
	// FormatAuto is text on a terminal and JSON otherwise (a container, a
	// service manager, a pipe), where logs are collected and parsed.
	FormatAuto = "auto"
	FormatJSON = "json"
	FormatText = "text"
)

// ParseLevel reads a level flag: debug, info, warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
}

// CheckFormat checks a format flag: auto, json or text.
func CheckFormat(s string) error {
	switch s {
	case FormatAuto, FormatJSON, FormatText:
		return nil
	}
	return fmt.Errorf("log format %q: want json, text or auto", s)
}

// LoggerOptions configure NewLogger.
type LoggerOptions struct {
	Format string // FormatAuto (the default), FormatJSON or FormatText
	Level  slog.Level
	// Terminal says w is a terminal, for FormatAuto.
	Terminal bool
	// Secrets are values that must never be written: each is replaced by
	// "[redacted]" wherever it appears in a message or an attribute, a
	// safety net under the rule that nothing logs credentials. Values
	// shorter than 8 bytes are ignored (they would redact ordinary words).
	Secrets []string
}

// NewLogger is a logger that writes to w as the options say.
func NewLogger(w io.Writer, o LoggerOptions) (*slog.Logger, error) {
	if o.Format == "" {
		o.Format = FormatAuto
	}
	if err := CheckFormat(o.Format); err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: o.Level}
	var h slog.Handler
	if o.Format == FormatJSON || o.Format == FormatAuto && !o.Terminal {
		h = slog.NewJSONHandler(w, ho)
	} else {
		h = slog.NewTextHandler(w, ho)
	}
	var pairs []string
	for _, s := range o.Secrets {
		if len(s) >= 8 {
			pairs = append(pairs, s, "[redacted]")
		}
	}
	if len(pairs) > 0 {
		h = &redactingHandler{Handler: h, r: strings.NewReplacer(pairs...)}
	}
	return slog.New(h), nil
}

// redactingHandler replaces secrets in every record before its handler
// formats it.
type redactingHandler struct {
	slog.Handler
	r *strings.Replacer
}

func (h *redactingHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.Replace(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h *redactingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.attr(a)
	}
	return &redactingHandler{Handler: h.Handler.WithAttrs(red), r: h.r}
}

func (h *redactingHandler) WithGroup(name string) slog.Handler {
	return &redactingHandler{Handler: h.Handler.WithGroup(name), r: h.r}
}

// attr redacts one attribute: strings, groups, and any other value by its
// printed form.
func (h *redactingHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Replace(v.String()))
	case slog.KindGroup:
		g := v.Group()
		red := make([]any, len(g))
		for i, ga := range g {
			red[i] = h.attr(ga)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if s := fmt.Sprint(v.Any()); h.r.Replace(s) != s {
			return slog.String(a.Key, h.r.Replace(s))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
