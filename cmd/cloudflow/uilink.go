package main

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// envUIURL names the Temporal Web UI (`cloudflow dev` prints it to export);
// --ui-url overrides it.
const envUIURL = "TEMPORAL_UI_URL"

// uiLinks makes links to runs in the Temporal Web UI, as its routes name
// them: <ui>/namespaces/<ns>/workflows/<workflow ID>/<run ID>/history. The
// zero value, when no UI is known, makes none.
type uiLinks struct {
	base      string // without a trailing slash
	namespace string
}

// run links to a run's history; with no run ID, to the workflow, whose
// latest run the UI opens.
func (l uiLinks) run(workflowID, runID string) string {
	if l.base == "" || workflowID == "" {
		return ""
	}
	link := fmt.Sprintf("%s/namespaces/%s/workflows/%s", l.base, url.PathEscape(l.namespace), url.PathEscape(workflowID))
	if runID != "" {
		link += "/" + url.PathEscape(runID) + "/history"
	}
	return link
}

// print writes "<label><link>" on a line of its own, when there is a link.
func (l uiLinks) print(w io.Writer, label, workflowID, runID string) {
	if link := l.run(workflowID, runID); link != "" {
		fmt.Fprintf(w, "%s%s\n", label, link)
	}
}

// uiBase is the UI's base URL from --ui-url, else $TEMPORAL_UI_URL; empty
// when neither is set. A URL that is not an http(s) one is bad usage.
func (o *rootOptions) uiBase() (string, error) {
	raw, from := o.UIURL, "--ui-url"
	if raw == "" {
		raw, from = os.Getenv(envUIURL), envUIURL
	}
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", usageErrorf("%s %q is not the Temporal UI's address: give its http(s) URL, e.g. http://localhost:8233", from, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// uiLinksFor are the UI links of the runs r reaches: in the namespace it
// connected to (a *starter.Starter knows it), else the one asked for, else
// Temporal's default.
func uiLinksFor(base string, r runner, namespace string) uiLinks {
	if base == "" {
		return uiLinks{}
	}
	if n, ok := r.(interface{ Namespace() string }); ok && n.Namespace() != "" {
		namespace = n.Namespace()
	}
	if namespace == "" {
		namespace = "default"
	}
	return uiLinks{base: base, namespace: namespace}
}
