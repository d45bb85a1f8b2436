package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/apptest"
)

// The request form of an item's acceptances: a viewer does not get it
// (and is refused if posting anyway); a malformed or past date, or no
// reason, is refused with a 400 naming the field, nothing stored, the
// typed reason kept; an analyst's valid request opens a pending
// acceptance expiring on the chosen day.
func TestAcceptanceRequestForm(t *testing.T) {
	e := apptest.New(t, apptest.Options{UI: true})
	var target, it struct {
		ID string `json:"id"`
	}
	e.Must(201, "POST", "/api/v1/targets", map[string]any{"name": "web"}, &target)
	e.Must(201, "POST", "/api/v1/targets/"+target.ID+"/items", map[string]any{"kind": "vulnerability", "title": "Weak TLS ciphers", "severity": "low"}, &it)
	tokenOf := func(role string) string {
		var u struct {
			ID string `json:"id"`
		}
		e.Must(201, "POST", "/api/v1/users", map[string]any{"email": role + "@example.test", "name": role, "role": role}, &u)
		var tok struct {
			Token string `json:"token"`
		}
		e.Must(201, "POST", "/api/v1/users/"+u.ID+"/tokens", map[string]any{"name": "ui"}, &tok)
		return tok.Token
	}
	type answer struct {
		status int
		body   string
	}
	session := func(token string) (get func(string) answer, post func(string, url.Values) answer) {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		read := func(resp *http.Response, err error) answer {
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			return answer{resp.StatusCode, string(raw)}
		}
		get = func(path string) answer { return read(c.Get(e.API.URL + path)) }
		post = func(path string, form url.Values) answer {
			req, _ := http.NewRequest("POST", e.API.URL+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", e.API.URL)
			return read(c.Do(req))
		}
		post("/signin", url.Values{"csrf_token": {csrfRE.FindStringSubmatch(get("/signin").body)[1]}, "token": {token}})
		return get, post
	}
	page := "/acceptances?state=&item_id=" + it.ID
	count := func() int {
		var l struct {
			Acceptances []struct {
				ExpiresAt string `json:"expires_at"`
			} `json:"acceptances"`
		}
		e.Must(200, "GET", "/api/v1/acceptances?item_id="+it.ID, nil, &l)
		return len(l.Acceptances)
	}

	vget, vpost := session(tokenOf("viewer"))
	a := vget(page)
	if a.status != 200 || strings.Contains(a.body, `id="request-form"`) {
		t.Errorf("a viewer's page: status %d, request form shown: %v", a.status, strings.Contains(a.body, `id="request-form"`))
	}
	vtok := csrfRE.FindStringSubmatch(a.body)[1]
	if a := vpost("/acceptances", url.Values{"csrf_token": {vtok}, "item_id": {it.ID}, "reason": {"x"}, "expires_on": {"2099-01-01"}}); a.status != http.StatusForbidden {
		t.Errorf("a viewer's request: %d, want 403", a.status)
	}

	get, post := session(tokenOf("analyst"))
	a = get(page)
	if !strings.Contains(a.body, `id="request-form"`) {
		t.Fatalf("an analyst's page has no request form")
	}
	tok := csrfRE.FindStringSubmatch(a.body)[1]
	for _, c := range []struct {
		reason, date, want string
	}{
		{"legacy clients", "2027-02-30", "Expiry date must be a date like"},
		{"legacy clients", "31/12/2027", "Expiry date must be a date like"},
		{"legacy clients", "2020-01-01", "Expiry date must be in the future"},
		{"legacy clients", "", "Expiry date must be set"},
		{"", "2027-06-01", "Reason must not be empty"},
	} {
		a := post("/acceptances", url.Values{"csrf_token": {tok}, "item_id": {it.ID}, "status": {"accepted_risk"}, "reason": {c.reason}, "expires_on": {c.date}})
		if a.status != http.StatusBadRequest || !strings.Contains(a.body, c.want) || !strings.Contains(a.body, ">"+c.reason+"</textarea>") {
			t.Errorf("%q until %q: status %d, want 400 saying %q with the reason kept", c.reason, c.date, a.status, c.want)
		}
	}
	if a := post("/acceptances", url.Values{"csrf_token": {tok}, "reason": {"x"}, "expires_on": {"2099-01-01"}}); a.status != http.StatusBadRequest {
		t.Errorf("a request naming no item: %d, want 400", a.status)
	}
	if a := post("/acceptances", url.Values{"csrf_token": {tok}, "item_id": {"no-such-item"}, "reason": {"x"}, "expires_on": {time.Now().UTC().AddDate(0, 0, 9).Format("2006-01-02")}}); a.status != http.StatusNotFound {
		t.Errorf("a request for an unknown item: %d, want 404", a.status)
	}
	if n := count(); n != 0 {
		t.Fatalf("refused requests stored %d acceptance(s)", n)
	}
	a = post("/acceptances", url.Values{"csrf_token": {tok}, "item_id": {it.ID}, "status": {"false_positive"}, "reason": {"test fixture only"}, "expires_on": {"2099-01-01"}})
	if a.status != http.StatusBadRequest || !strings.Contains(a.body, "must be within 1098 days") {
		t.Errorf("a date beyond the maximum: status %d", a.status)
	}
	var l struct {
		Acceptances []struct {
			Status    string `json:"status"`
			State     string `json:"state"`
			ExpiresAt string `json:"expires_at"`
		} `json:"acceptances"`
	}
	e.Must(200, "GET", "/api/v1/acceptances?item_id="+it.ID, nil, &l)
	if len(l.Acceptances) != 0 {
		t.Fatalf("a request beyond the maximum was stored: %+v", l.Acceptances)
	}
	day := time.Now().UTC().AddDate(0, 0, 30).Format("2006-01-02")
	a = post("/acceptances", url.Values{"csrf_token": {tok}, "item_id": {it.ID}, "status": {"false_positive"}, "reason": {"test fixture only"}, "expires_on": {day}})
	if a.status != 200 || !strings.Contains(a.body, "Acceptance requested until "+day) {
		t.Errorf("a valid request: status %d, no flash naming %s", a.status, day)
	}
	e.Must(200, "GET", "/api/v1/acceptances?item_id="+it.ID, nil, &l)
	want := []struct {
		Status    string `json:"status"`
		State     string `json:"state"`
		ExpiresAt string `json:"expires_at"`
	}{{"false_positive", "pending", day + "T00:00:00Z"}}
	if diff := cmp.Diff(want, l.Acceptances); diff != "" {
		t.Errorf("stored request (-want +got):\n%s", diff)
	}
}
