package apitest

import (
	"strings"
	"testing"

	"github.com/cloudflow/cloudflow/clients/apicall"
)

// ListedRoutes is an observer (each client's WithObserver) that fails the
// test when the client sends a request its route list does not name, so that
// a call added to a client without its route would be counted as "other".
func ListedRoutes(t *testing.T) apicall.Observer {
	return func(c apicall.Call) {
		if strings.HasSuffix(c.Verb, " other") || c.Cloud == "" {
			t.Errorf("%s: a request its routes do not name: %q (add its template to routes.go)", c.Cloud, c.Verb)
		}
	}
}
