package jira

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Observer is told what the client does on the wire, for monitoring: each
// HTTP exchange, each 429, and the time spent waiting before a send. It
// lives here, as an interface, so the client depends on no metrics
// library; the process's metrics implement it. Methods are called on the
// caller's goroutine and must be quick.
type Observer interface {
	// JiraRequest reports one HTTP exchange (retries are exchanges of
	// their own). operation is the method and route template, e.g.
	// "PUT /rest/api/3/issue/{}" (see Operation); status is the HTTP
	// status code, or "error" when no answer came.
	JiraRequest(operation, status string)
	// JiraRateLimited reports a 429 answer to operation.
	JiraRateLimited(operation string)
	// JiraWait reports time spent before a send: reason "retry_after"
	// while a Retry-After (or rate-limit reset) Jira gave had not passed,
	// "pacing" while the client's own pacing held the request back,
	// "backoff" between retries of a failed exchange.
	JiraWait(reason string, d time.Duration)
}

type nopObserver struct{}

func (nopObserver) JiraRequest(string, string)     {}
func (nopObserver) JiraRateLimited(string)         {}
func (nopObserver) JiraWait(string, time.Duration) {}

// routeWords are the path segments Operation keeps: the literal parts of
// every route the client calls. Any other segment (issue keys, ids,
// project keys, property keys, attachment file names) becomes "{}", so the
// set of operations is bounded by the client's code, whatever the data: a
// route added without its words here shows with "{}" in their place,
// which loses detail but never multiplies the labels.
var routeWords = map[string]bool{
	"rest": true, "api": true, "2": true, "3": true, "latest": true, "1.0": true,
	"webhooks": true, "webhook": true, "jira-webhook": true,
	"issue": true, "bulkfetch": true, "createmeta": true, "issuetypes": true, "editmeta": true,
	"transitions": true, "comment": true, "properties": true, "changelog": true,
	"attachments": true, "attachment": true, "content": true, "thumbnail": true, "secure": true,
	"search": true, "jql": true, "serverInfo": true, "myself": true, "project": true,
	"statuses": true, "field": true, "priority": true, "status": true, "resolution": true,
	"mypermissions": true, "issuetype": true,
}

// Operation is the bounded name of a request for monitoring: the method
// and the site-relative path with every segment that is not a route word
// replaced by "{}", e.g. "POST /rest/api/2/issue/{}/transitions".
func Operation(method, path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if s != "" && !routeWords[s] {
			segs[i] = "{}"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// statusLabel is the status of an exchange as Observer reports it.
func statusLabel(resp *http.Response, err error) string {
	if err != nil || resp == nil {
		return "error"
	}
	return strconv.Itoa(resp.StatusCode)
}
