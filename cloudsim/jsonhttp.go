package cloudsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
)

// maxBodyBytes bounds the request bodies the simulators read.
const maxBodyBytes = 1 << 20

// writeJSON answers status with v encoded as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"cloudsim: cannot encode response"}`, http.StatusInternalServerError)
		return
	}
	writeRawJSON(w, status, b)
}

func writeRawJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	_, _ = w.Write([]byte("\n"))
}

// decodeJSON reads r's body into v. Unknown fields are ignored, as the real
// gateways do; the error names the offending field and is meant for a 400.
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return fmt.Errorf("cannot read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return fmt.Errorf("request body is larger than %d bytes", maxBodyBytes)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return errors.New("request body is required (a JSON object)")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	if dec.More() {
		return errors.New("malformed JSON: unexpected data after the top-level object")
	}
	return nil
}

func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var fieldErr *fieldError
	switch {
	case errors.As(err, &fieldErr):
		return fieldErr
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Errorf("request body must be a JSON object, not %s", withArticle(typeErr.Value))
		}
		return fmt.Errorf("field %q must be %s, not %s", typeErr.Field, jsonKind(typeErr.Type), withArticle(typeErr.Value))
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("malformed JSON at offset %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("malformed JSON: unexpected end of body")
	}
	return fmt.Errorf("malformed JSON: %v", err)
}

func withArticle(v string) string {
	switch {
	case strings.HasPrefix(v, "a "), strings.HasPrefix(v, "an "):
		return v
	case strings.HasPrefix(v, "array"), strings.HasPrefix(v, "object"):
		return "an " + v
	}
	return "a " + v
}

func jsonKind(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	goKind := t.Kind().String()
	switch {
	case (goKind == "slice" || goKind == "array") && t.Elem().Kind() == reflect.String:
		return "an array of strings"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "a boolean"
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "slice", goKind == "array":
		return "an array"
	case goKind == "map", goKind == "struct":
		return "an object"
	}
	return "of type " + goKind
}

// fieldError is a validation error that names a request field.
type fieldError struct {
	field, msg string
}

func (e *fieldError) Error() string { return fmt.Sprintf("field %q %s", e.field, e.msg) }

func missingField(field string) error { return &fieldError{field, "is required"} }

func badEnum(field, got string, want ...string) error {
	return &fieldError{field, fmt.Sprintf("must be one of %s, not %q", strings.Join(want, ", "), got)}
}

func badField(field, format string, a ...any) error {
	return &fieldError{field, fmt.Sprintf(format, a...)}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// typeError reports a JSON value of the wrong type from a custom
// UnmarshalJSON; encoding/json adds the field path to it.
func typeError(b []byte, want any) error {
	kind := "value"
	switch t := bytes.TrimSpace(b); {
	case len(t) == 0:
	case t[0] == '"':
		kind = "string"
	case t[0] == '[':
		kind = "array"
	case t[0] == '{':
		kind = "object"
	case t[0] == 't' || t[0] == 'f':
		kind = "bool"
	case t[0] == 'n':
		kind = "null"
	default:
		kind = "number"
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeOf(want)}
}

// stringList reads a JSON array of strings, and, leniently, the string forms
// the reference samples show: "[tcp, udp]" or "tcp,udp".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if bytes.Equal(t, []byte("null")) {
		return nil
	}
	if len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		out := stringList{}
		for _, p := range strings.Split(strings.Trim(strings.TrimSpace(s), "[]"), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		*l = out
		return nil
	}
	var arr []string
	if err := json.Unmarshal(t, &arr); err != nil {
		if len(t) > 0 && t[0] == '[' {
			return &json.UnmarshalTypeError{Value: "an array holding other values", Type: reflect.TypeOf(arr)}
		}
		return typeError(t, arr)
	}
	*l = arr
	return nil
}

// flexString reads a JSON string or number and renders it as a string (the
// reference writes health check numbers as strings).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	if bytes.Equal(t, []byte("null")) {
		return nil
	}
	if len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(t, &n); err != nil {
		return typeError(t, "")
	}
	*f = flexString(n.String())
	return nil
}
