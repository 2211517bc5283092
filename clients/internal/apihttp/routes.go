package apihttp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cloudflow/cloudflow/clients/apicall"
)

// Routes names the calls of one API by the path templates of its reference,
// so that whoever observes the calls (metrics) counts them by route and
// never by the IDs in their paths, which would make a series per resource.
type Routes struct {
	routes []route
}

type route struct {
	method string
	segs   []string // the path's segments
	params []bool   // which of segs are {parameters}, matching any non-empty segment
	query  url.Values
	verb   string
	// score ranks routes that match the same request: the one with the most
	// literal segments and query conditions wins ("instances/start" over
	// "instances/{uuid}").
	score int
}

// NewRoutes compiles templates of the form "METHOD /path/{param}/more",
// relative to the client's base URL, optionally followed by query
// conditions ("?operation=start") a request must carry to match. It panics
// on a malformed template: the templates are constants of each client.
func NewRoutes(templates ...string) *Routes {
	r := &Routes{}
	for _, t := range templates {
		method, rest, ok := strings.Cut(t, " ")
		if !ok || method == "" || method != strings.ToUpper(method) || !strings.HasPrefix(rest, "/") {
			panic(fmt.Sprintf("apihttp: route %q is not \"METHOD /path\"", t))
		}
		path, rawQuery, _ := strings.Cut(rest, "?")
		query, err := url.ParseQuery(rawQuery)
		if err != nil {
			panic(fmt.Sprintf("apihttp: route %q: %v", t, err))
		}
		rt := route{method: method, query: query, verb: t, score: len(query)}
		for _, seg := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
			param := strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
			if !param && strings.ContainsAny(seg, "{}") {
				panic(fmt.Sprintf("apihttp: route %q: segment %q mixes a parameter and text", t, seg))
			}
			rt.segs, rt.params = append(rt.segs, seg), append(rt.params, param)
			if !param {
				rt.score++
			}
		}
		r.routes = append(r.routes, rt)
	}
	return r
}

// Verb names a request to relPath (relative to the base URL, no leading
// slash, escaped) with query: the template of the route it matches, or
// "<METHOD> other" when it matches none.
func (r *Routes) Verb(method, relPath string, query url.Values) string {
	best := -1
	verb := method + " other"
	if r == nil {
		return verb
	}
	segs := strings.Split(relPath, "/")
	for _, rt := range r.routes {
		if rt.score > best && rt.match(method, segs, query) {
			best, verb = rt.score, rt.verb
		}
	}
	return verb
}

func (rt *route) match(method string, segs []string, query url.Values) bool {
	if rt.method != method || len(rt.segs) != len(segs) {
		return false
	}
	for i, s := range rt.segs {
		if rt.params[i] && segs[i] == "" || !rt.params[i] && s != segs[i] {
			return false
		}
	}
	for k, vs := range rt.query {
		if query.Get(k) != vs[0] {
			return false
		}
	}
	return true
}

// observe tells the client's Observer, when it has one, of the call req
// that ended with status (0: no answer) after starting at start.
func (c *Client) observe(req *http.Request, status int, start time.Time) {
	if c.Observer == nil {
		return
	}
	c.Observer(apicall.Call{Cloud: c.Name, Verb: c.verb(req), Status: status, Duration: time.Since(start)})
}

// verb names req by the client's Routes: its path relative to BaseURL's.
func (c *Client) verb(req *http.Request) string {
	path := req.URL.EscapedPath()
	if base, err := url.Parse(c.BaseURL); err == nil {
		path = strings.TrimPrefix(path, base.EscapedPath())
	}
	return c.Routes.Verb(req.Method, strings.TrimPrefix(path, "/"), req.URL.Query())
}
