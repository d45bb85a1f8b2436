package jirasim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vulnsync/vulnsync/internal/richtext"
)

// This file parses field values from request bodies (create, edit,
// transition screens), checks them the way Jira does (messages are Jira's
// own where known) and applies them to an issue with a changelog item.

// Jira's size limits.
const (
	maxTextField = 255
	maxRichText  = 32767
	maxLabels    = 100
	maxPropBytes = 32768
	maxPropKey   = 255
)

// msgCannotSet is Jira's answer for a field that is unknown or not on the
// screen of the operation.
func msgCannotSet(id string) string {
	return "Field '" + id + "' cannot be set. It is not on the appropriate screen, or unknown."
}

const msgNotADF = "Operation value must be an Atlassian Document"

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// refObject is the {"id"|"key"|"name"|"value"|"accountId"} object Jira uses to
// name things in request bodies.
type refObject struct {
	ID        *json.RawMessage `json:"id"`
	Key       string           `json:"key"`
	Name      string           `json:"name"`
	Value     string           `json:"value"`
	AccountID string           `json:"accountId"`
}

// idString reads an "id" that clients send as a string or a number.
func (r refObject) idString() string {
	if r.ID == nil {
		return ""
	}
	var s string
	if json.Unmarshal(*r.ID, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(*r.ID, &n) == nil {
		return n.String()
	}
	return ""
}

func decodeRef(raw json.RawMessage) (refObject, bool) {
	var r refObject
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, false
	}
	return r, true
}

// parseRich reads a rich-text value: an ADF document on v3 (a plain string
// is refused with Jira's own message), a wiki string on v2.
func parseRich(v view, raw json.RawMessage) (*richText, string) {
	if isNull(raw) {
		return nil, ""
	}
	if v.api == 3 {
		if bytes.HasPrefix(bytes.TrimSpace(raw), []byte(`"`)) {
			return nil, msgNotADF
		}
		doc, err := richtext.ParseADF(raw)
		if err != nil {
			return nil, msgNotADF
		}
		rt := richFromADF(doc)
		if rt != nil && utf8.RuneCountInString(rt.wiki) > maxRichText {
			return nil, "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
		}
		return rt, ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, "Operation value must be a string"
	}
	if utf8.RuneCountInString(s) > maxRichText {
		return nil, "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
	}
	return richFromWiki(s), ""
}

// parseValue reads the value of field f for a "set" (fields map or update
// set operation). The result's type depends on f.Kind.
func (s *Simulator) parseValue(v view, f *fieldDef, raw json.RawMessage) (any, string) {
	switch f.Kind {
	case kindSummary:
		var str string
		if isNull(raw) || json.Unmarshal(raw, &str) != nil || strings.TrimSpace(str) == "" {
			return nil, "You must specify a summary of the issue."
		}
		if strings.ContainsAny(str, "\r\n") {
			return nil, "The summary is invalid because it contains newline characters."
		}
		if utf8.RuneCountInString(str) > maxTextField {
			return nil, "Summary must be less than 255 characters."
		}
		return str, ""
	case kindRich:
		rt, msg := parseRich(v, raw)
		return rt, msg
	case kindTextarea:
		rt, msg := parseRich(v, raw)
		if msg != "" || rt == nil {
			return nil, msg
		}
		return rt, ""
	case kindPriority:
		if isNull(raw) {
			return nil, "Priority cannot be empty."
		}
		r, ok := decodeRef(raw)
		p := priorityByIDOrName(r.idString(), r.Name)
		if !ok || p == nil {
			return nil, "Specify a valid 'id' or 'name' for Priority"
		}
		return p, ""
	case kindSecurity:
		if isNull(raw) {
			return (*securityLevel)(nil), ""
		}
		r, ok := decodeRef(raw)
		if !ok {
			return nil, "Operation value must be an object"
		}
		l := securityLevelByIDOrName(r.idString(), r.Name)
		if l == nil {
			return nil, "Security level: Security Level with id '" + r.idString() + r.Name + "' does not exist."
		}
		return l, ""
	case kindLabels:
		var labels []string
		if isNull(raw) {
			return []string{}, ""
		}
		if err := json.Unmarshal(raw, &labels); err != nil {
			return nil, "Operation value must be an array of strings"
		}
		if len(labels) > maxLabels {
			return nil, fmt.Sprintf("An issue can have at most %d labels.", maxLabels)
		}
		for _, l := range labels {
			if msg := checkLabel(l); msg != "" {
				return nil, msg
			}
		}
		return normLabels(labels), ""
	case kindUser:
		if isNull(raw) {
			return (*user)(nil), ""
		}
		r, ok := decodeRef(raw)
		if !ok {
			return nil, "Operation value must be an object"
		}
		if r.AccountID == "" {
			r.AccountID = r.idString() // Cloud also takes {"id": accountId}
		}
		if r.AccountID == "" && r.Name == "" && r.Key == "" {
			return (*user)(nil), "" // {"accountId": null} / {"name": null} unassigns
		}
		u := s.userByRef(r.AccountID, r.Name, r.Key)
		if u == nil {
			ref := r.AccountID
			if s.dc {
				ref = r.Name + r.Key
			}
			return nil, "Specified user '" + ref + "' does not exist."
		}
		return u, ""
	case kindDate:
		if isNull(raw) {
			return "", ""
		}
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return nil, "Operation value must be a string"
		}
		if _, err := time.Parse(time.DateOnly, str); err != nil {
			return nil, "Error parsing date string: " + str
		}
		return str, ""
	case kindFloat:
		if isNull(raw) {
			return nil, ""
		}
		var n float64
		if json.Unmarshal(raw, &n) != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, "Operation value must be a number"
		}
		return n, ""
	case kindText, kindURL:
		if isNull(raw) {
			return nil, ""
		}
		var str string
		if json.Unmarshal(raw, &str) != nil {
			return nil, "Operation value must be a string"
		}
		if utf8.RuneCountInString(str) > maxTextField {
			return nil, "The entered text is too long. It exceeds the allowed limit of 255 characters."
		}
		if str == "" {
			return nil, ""
		}
		if f.Kind == kindURL {
			u, err := url.Parse(str)
			if err != nil || u.Scheme == "" || u.Host == "" {
				return nil, "Not a valid URL"
			}
		}
		return str, ""
	case kindSelect:
		if isNull(raw) {
			return nil, ""
		}
		o, msg := parseOption(f, raw)
		if msg != "" {
			return nil, msg
		}
		return o.ID, ""
	case kindMultiSelect:
		if isNull(raw) {
			return []string{}, ""
		}
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil {
			return nil, "Operation value must be an array"
		}
		ids := []string{}
		for _, it := range items {
			o, msg := parseOption(f, it)
			if msg != "" {
				return nil, msg
			}
			if !slices.Contains(ids, o.ID) {
				ids = append(ids, o.ID)
			}
		}
		return ids, ""
	}
	return nil, msgCannotSet(f.ID)
}

func parseOption(f *fieldDef, raw json.RawMessage) (*option, string) {
	r, ok := decodeRef(raw)
	if !ok {
		return nil, "Operation value must be an object with 'value' or 'id'"
	}
	if id := r.idString(); id != "" {
		if o := f.optionByID(id); o != nil {
			return o, ""
		}
		return nil, "Option id '" + id + "' is not valid"
	}
	if o := f.optionByValue(r.Value); o != nil {
		return o, ""
	}
	return nil, "Option value '" + r.Value + "' is not valid"
}

func checkLabel(l string) string {
	switch {
	case l == "":
		return "Label cannot be empty."
	case strings.ContainsAny(l, " \t\r\n"):
		return "The label '" + l + "' contains spaces which is invalid."
	case utf8.RuneCountInString(l) > maxTextField:
		return "The label '" + l + "' is too long. It exceeds the allowed limit of 255 characters."
	}
	return ""
}

func normLabels(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	return slices.Compact(out)
}

// applyOp applies an "add" or "remove" update operation to the working
// value cur of a list field and returns the new value.
func applyOp(cur []string, f *fieldDef, op string, raw json.RawMessage) ([]string, string) {
	cur = append([]string{}, cur...)
	switch f.Kind {
	case kindLabels:
		var l string
		if json.Unmarshal(raw, &l) != nil {
			return nil, "Operation value must be a string"
		}
		if msg := checkLabel(l); msg != "" {
			return nil, msg
		}
		if op == "add" {
			cur = append(cur, l)
			if len(normLabels(cur)) > maxLabels {
				return nil, fmt.Sprintf("An issue can have at most %d labels.", maxLabels)
			}
		} else {
			cur = slices.DeleteFunc(cur, func(x string) bool { return x == l })
		}
		return normLabels(cur), ""
	case kindMultiSelect:
		o, msg := parseOption(f, raw)
		if msg != "" {
			return nil, msg
		}
		if op == "add" {
			if !slices.Contains(cur, o.ID) {
				cur = append(cur, o.ID)
			}
		} else {
			cur = slices.DeleteFunc(cur, func(x string) bool { return x == o.ID })
		}
		return cur, ""
	}
	return nil, "Field '" + f.ID + "' does not support operation '" + op + "'"
}

func (s *Simulator) userRef(u *user) *string {
	if u == nil {
		return nil
	}
	if s.dc {
		return strp(u.Key)
	}
	return strp(u.AccountID)
}

func userName(u *user) *string {
	if u == nil {
		return nil
	}
	return strp(u.DisplayName)
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// customString renders a custom value for a changelog's from/toString.
func customString(f *fieldDef, val any) (*string, *string) {
	if val == nil {
		return nil, nil
	}
	switch f.Kind {
	case kindTextarea:
		return nil, optStr(val.(*richText).Wiki())
	case kindFloat:
		return nil, strp(fmtFloat(val.(float64)))
	case kindSelect:
		id := val.(string)
		return strp(id), strp(f.optionByID(id).Value)
	case kindMultiSelect:
		ids := val.([]string)
		if len(ids) == 0 {
			return nil, nil
		}
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			names = append(names, f.optionByID(id).Value)
		}
		return strp("[" + strings.Join(ids, ", ") + "]"), strp(strings.Join(names, ","))
	default:
		return nil, strp(val.(string))
	}
}

// richEqual compares two rich-text values in both renderings.
func richEqual(a, b *richText) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.wiki != b.wiki {
		return false
	}
	ja, _ := json.Marshal(a.adf)
	jb, _ := json.Marshal(b.adf)
	return bytes.Equal(ja, jb)
}

func customEqual(a, b any) bool {
	ra, aok := a.(*richText)
	rb, bok := b.(*richText)
	if aok || bok {
		return richEqual(ra, rb)
	}
	la, aok := a.([]string)
	lb, bok := b.([]string)
	if aok || bok {
		return slices.Equal(la, lb)
	}
	return a == b
}

// setField stores val in field f of the issue and returns the changelog
// item, or nil when the value did not change.
func (s *Simulator) setField(is *issue, f *fieldDef, val any) *changeItem {
	item := &changeItem{Field: f.ID, FieldType: "jira", FieldID: f.ID}
	switch f.Kind {
	case kindSummary:
		nv := val.(string)
		if nv == is.Summary {
			return nil
		}
		item.FromString, item.ToString = optStr(is.Summary), strp(nv)
		is.Summary = nv
	case kindRich:
		nv, _ := val.(*richText)
		cur := &is.Description
		if f.ID == "environment" {
			cur = &is.Environment
		}
		if richEqual(*cur, nv) {
			return nil
		}
		item.FromString, item.ToString = optStr((*cur).Wiki()), optStr(nv.Wiki())
		*cur = nv
	case kindPriority:
		nv := val.(*priority)
		if nv == is.Priority {
			return nil
		}
		if is.Priority != nil {
			item.From, item.FromString = strp(is.Priority.ID), strp(is.Priority.Name)
		}
		item.To, item.ToString = strp(nv.ID), strp(nv.Name)
		is.Priority = nv
	case kindSecurity:
		nv := val.(*securityLevel)
		if nv == is.Security {
			return nil
		}
		item.Field = "security"
		if is.Security != nil {
			item.From, item.FromString = strp(is.Security.ID), strp(is.Security.Name)
		}
		if nv != nil {
			item.To, item.ToString = strp(nv.ID), strp(nv.Name)
		}
		is.Security = nv
		for _, st := range is.Subtasks {
			st.Security = nv // sub-tasks follow their parent's level
		}
	case kindLabels:
		nv := val.([]string)
		if slices.Equal(nv, is.Labels) {
			return nil
		}
		item.FromString, item.ToString = strp(strings.Join(is.Labels, " ")), strp(strings.Join(nv, " "))
		is.Labels = nv
	case kindUser:
		nv := val.(*user)
		cur := &is.Assignee
		if f.ID == "reporter" {
			cur = &is.Reporter
		}
		if nv == *cur {
			return nil
		}
		item.From, item.FromString = s.userRef(*cur), userName(*cur)
		item.To, item.ToString = s.userRef(nv), userName(nv)
		*cur = nv
	case kindDate:
		nv := val.(string)
		if nv == is.DueDate {
			return nil
		}
		item.From, item.To = optStr(is.DueDate), optStr(nv)
		if is.DueDate != "" {
			item.FromString = strp(is.DueDate + " 00:00:00.0")
		}
		if nv != "" {
			item.ToString = strp(nv + " 00:00:00.0")
		}
		is.DueDate = nv
	case kindFloat, kindText, kindURL, kindSelect, kindMultiSelect, kindTextarea:
		old := is.Custom[f.ID]
		if ids, ok := val.([]string); ok && len(ids) == 0 {
			val = nil
		}
		if customEqual(old, val) {
			return nil
		}
		item.Field, item.FieldType = f.Name, "custom"
		item.From, item.FromString = customString(f, old)
		item.To, item.ToString = customString(f, val)
		if val == nil {
			delete(is.Custom, f.ID)
		} else {
			is.Custom[f.ID] = val
		}
	default:
		return nil
	}
	return item
}
