package jirasim

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// view renders the simulator's state the way one Jira API surface shows it:
// a deployment (Cloud users by accountId, Data Center users by name/key), a
// REST version (v3: ADF rich text, v2: wiki strings) and a base URL for the
// "self" links. Webhook payloads use v2 with wiki strings on both
// deployments, as the recorded deliveries do.
type view struct {
	base    string
	api     int
	dc      bool
	webhook bool
}

func (v view) rest() string { return v.base + "/rest/api/" + strconv.Itoa(v.api) }

// adf reports whether rich text renders as ADF.
func (v view) adf() bool { return v.api == 3 && !v.webhook }

func (v view) rich(r *richText) any {
	if r == nil {
		return nil
	}
	if v.adf() {
		return r.adf
	}
	return r.wiki
}

func (v view) avatars(u *user) map[string]any {
	if v.dc {
		b := v.base + "/secure/useravatar?"
		return map[string]any{
			"48x48": b + "ownerId=" + u.Key + "&avatarId=10122",
			"24x24": b + "size=small&ownerId=" + u.Key + "&avatarId=10122",
			"16x16": b + "size=xsmall&ownerId=" + u.Key + "&avatarId=10122",
			"32x32": b + "size=medium&ownerId=" + u.Key + "&avatarId=10122",
		}
	}
	b := "https://avatar-management--avatars.us-west-2.prod.public.atl-paas.net/initials/" + u.initials + "-0.png"
	return map[string]any{
		"48x48": b + "?size=48&s=48",
		"24x24": b + "?size=24&s=24",
		"16x16": b + "?size=16&s=16",
		"32x32": b + "?size=32&s=32",
	}
}

// user renders an account; a nil user renders as JSON null.
func (v view) user(u *user) any {
	if u == nil {
		return nil
	}
	m := map[string]any{
		"avatarUrls":  v.avatars(u),
		"displayName": u.DisplayName,
		"active":      true,
		"timeZone":    "Etc/UTC",
	}
	if v.dc || !u.HideEmail {
		m["emailAddress"] = u.Email
	}
	if v.dc {
		m["self"] = v.rest() + "/user?username=" + u.Name
		m["name"] = u.Name
		m["key"] = u.Key
	} else {
		m["self"] = v.rest() + "/user?accountId=" + u.AccountID
		m["accountId"] = u.AccountID
		m["accountType"] = "atlassian"
	}
	return m
}

func (v view) category(c *category) map[string]any {
	return map[string]any{
		"self":      v.rest() + "/statuscategory/" + strconv.Itoa(c.ID),
		"id":        c.ID,
		"key":       c.Key,
		"colorName": c.ColorName,
		"name":      c.Name,
	}
}

func (v view) status(st *status) map[string]any {
	return map[string]any{
		"self":           v.rest() + "/status/" + st.ID,
		"description":    st.Description,
		"iconUrl":        v.base + st.Icon,
		"name":           st.Name,
		"id":             st.ID,
		"statusCategory": v.category(st.Cat),
	}
}

func (v view) priority(p *priority) any {
	if p == nil {
		return nil
	}
	return map[string]any{
		"self":    v.rest() + "/priority/" + p.ID,
		"iconUrl": v.base + "/images/icons/priorities/" + p.Icon,
		"name":    p.Name,
		"id":      p.ID,
	}
}

func (v view) resolution(r *resolution) any {
	if r == nil {
		return nil
	}
	return map[string]any{
		"self":        v.rest() + "/resolution/" + r.ID,
		"id":          r.ID,
		"description": r.Description,
		"name":        r.Name,
	}
}

func (v view) issueTypeIcon(t *issueType) string {
	return v.base + "/secure/viewavatar?size=medium&avatarId=" + strconv.Itoa(t.AvatarID) + "&avatarType=issuetype"
}

func (v view) issueType(t *issueType) map[string]any {
	m := map[string]any{
		"self":        v.rest() + "/issuetype/" + t.ID,
		"id":          t.ID,
		"description": t.Description,
		"iconUrl":     v.issueTypeIcon(t),
		"name":        t.Name,
		"subtask":     t.Subtask,
		"avatarId":    t.AvatarID,
	}
	if !v.dc && !v.webhook {
		m["hierarchyLevel"] = t.Hierarchy
	}
	return m
}

func (v view) projectAvatars(p *project) map[string]any {
	b := v.base + "/secure/projectavatar?"
	id := strconv.Itoa(p.AvatarID)
	return map[string]any{
		"48x48": b + "pid=" + p.ID + "&avatarId=" + id,
		"24x24": b + "size=small&s=small&pid=" + p.ID + "&avatarId=" + id,
		"16x16": b + "size=xsmall&s=xsmall&pid=" + p.ID + "&avatarId=" + id,
		"32x32": b + "size=medium&s=medium&pid=" + p.ID + "&avatarId=" + id,
	}
}

// projectRef is the project as it appears inside an issue.
func (v view) projectRef(p *project) map[string]any {
	m := map[string]any{
		"self":           v.rest() + "/project/" + p.ID,
		"id":             p.ID,
		"key":            p.Key,
		"name":           p.Name,
		"projectTypeKey": "software",
		"avatarUrls":     v.projectAvatars(p),
	}
	if !v.dc {
		m["simplified"] = false
	}
	return m
}

func (v view) option(f *fieldDef, o *option) map[string]any {
	return map[string]any{
		"self":  v.rest() + "/customFieldOption/" + o.ID,
		"value": o.Value,
		"id":    o.ID,
	}
}

// customValue renders a custom field's stored value.
func (v view) customValue(f *fieldDef, val any) any {
	if val == nil {
		return nil
	}
	switch f.Kind {
	case kindSelect:
		return v.option(f, f.optionByID(val.(string)))
	case kindTextarea:
		return v.rich(val.(*richText))
	case kindMultiSelect:
		ids := val.([]string)
		if len(ids) == 0 {
			return nil
		}
		out := make([]any, 0, len(ids))
		for _, id := range ids {
			out = append(out, v.option(f, f.optionByID(id)))
		}
		return out
	default:
		return val
	}
}

func (v view) issueSelf(is *issue) string { return v.rest() + "/issue/" + strconv.FormatInt(is.ID, 10) }

// issueLink is the short form of an issue used for parent and subtasks.
func (v view) issueLink(is *issue) map[string]any {
	return map[string]any{
		"id":   strconv.FormatInt(is.ID, 10),
		"key":  is.Key,
		"self": v.issueSelf(is),
		"fields": map[string]any{
			"summary":   is.Summary,
			"status":    v.status(is.Status),
			"priority":  v.priority(is.Priority),
			"issuetype": v.issueType(is.Type),
		},
	}
}

func (v view) attachment(a *attachment) map[string]any {
	id := strconv.FormatInt(a.ID, 10)
	content := v.rest() + "/attachment/content/" + id
	if v.dc {
		content = v.base + "/secure/attachment/" + id + "/" + url.PathEscape(a.Filename)
	}
	return map[string]any{
		"self":     v.rest() + "/attachment/" + id,
		"id":       id,
		"filename": a.Filename,
		"author":   v.user(a.Author),
		"created":  jiraTime(a.Created),
		"size":     a.Size,
		"mimeType": a.MimeType,
		"content":  content,
	}
}

func (v view) comment(is *issue, c *comment, withProps bool) map[string]any {
	m := map[string]any{
		"self":         v.issueSelf(is) + "/comment/" + strconv.FormatInt(c.ID, 10),
		"id":           strconv.FormatInt(c.ID, 10),
		"author":       v.user(c.Author),
		"body":         v.richOrEmpty(c.Body),
		"updateAuthor": v.user(c.UpdateAuthor),
		"created":      jiraTime(c.Created),
		"updated":      jiraTime(c.Updated),
	}
	if !v.dc {
		m["jsdPublic"] = true
	}
	if vis := c.Visibility; vis != nil {
		vm := map[string]any{"type": vis.Type, "value": vis.Value}
		if !v.dc {
			vm["identifier"] = vis.Value
		}
		m["visibility"] = vm
	}
	if withProps {
		props := make([]any, 0, len(c.Props))
		for _, k := range sortedKeys(c.Props) {
			props = append(props, map[string]any{"key": k, "value": c.Props[k]})
		}
		m["properties"] = props
	}
	return m
}

// richOrEmpty renders a comment body: an empty body is "" on v2 and an
// empty document on v3 (comments always have a body).
func (v view) richOrEmpty(r *richText) any {
	if r != nil {
		return v.rich(r)
	}
	if v.adf() {
		return map[string]any{"type": "doc", "version": 1, "content": []any{}}
	}
	return ""
}

// systemFieldOrder lists the issue fields rendered for "*all", in the order
// real Jira lists them.
var systemFieldOrder = []string{
	"statuscategorychangedate", "issuetype", "timespent", "project", "fixVersions",
	"aggregatetimespent", "resolution", "resolutiondate", "workratio", "lastViewed",
	"watches", "created", "priority", "labels", "timeestimate",
	"aggregatetimeoriginalestimate", "versions", "issuelinks", "assignee", "updated",
	"status", "components", "timeoriginalestimate", "description", "timetracking",
	"security", "attachment", "aggregatetimeestimate", "summary", "creator",
	"subtasks", "reporter", "aggregateprogress", "environment", "duedate",
	"progress", "votes", "comment", "worklog", "parent",
}

// notNavigable are the fields "*navigable" leaves out.
var notNavigable = map[string]bool{"comment": true, "worklog": true, "attachment": true, "timetracking": true}

// fieldValue renders one issue field; ok is false when the issue has no
// such field (parent on a top-level issue, unknown names).
func (v view) fieldValue(is *issue, id string) (any, bool) {
	if id == "issuelinks" {
		return v.issueLinks(is), true
	}
	switch id {
	case "statuscategorychangedate":
		return jiraTime(is.StatusChanged), true
	case "issuetype":
		return v.issueType(is.Type), true
	case "project":
		return v.projectRef(is.Project), true
	case "fixVersions", "versions", "issuelinks", "components":
		return []any{}, true
	case "timespent", "aggregatetimespent", "lastViewed", "timeestimate", "aggregatetimeoriginalestimate",
		"timeoriginalestimate", "aggregatetimeestimate":
		return nil, true
	case "security":
		return v.securityLevel(is.Security), true
	case "resolution":
		return v.resolution(is.Resolution), true
	case "resolutiondate":
		if is.Resolution == nil {
			return nil, true
		}
		return jiraTime(is.ResolutionDate), true
	case "workratio":
		return -1, true
	case "watches":
		return map[string]any{"self": v.rest() + "/issue/" + is.Key + "/watchers", "watchCount": 1, "isWatching": true}, true
	case "votes":
		return map[string]any{"self": v.rest() + "/issue/" + is.Key + "/votes", "votes": 0, "hasVoted": false}, true
	case "created":
		return jiraTime(is.Created), true
	case "updated":
		return jiraTime(is.Updated), true
	case "priority":
		return v.priority(is.Priority), true
	case "labels":
		return append([]string{}, is.Labels...), true
	case "assignee":
		return v.user(is.Assignee), true
	case "reporter":
		return v.user(is.Reporter), true
	case "creator":
		return v.user(is.Creator), true
	case "status":
		return v.status(is.Status), true
	case "description":
		return v.rich(is.Description), true
	case "environment":
		return v.rich(is.Environment), true
	case "timetracking":
		return map[string]any{}, true
	case "attachment":
		out := make([]any, 0, len(is.Attachments))
		for _, a := range is.Attachments {
			out = append(out, v.attachment(a))
		}
		return out, true
	case "summary":
		return is.Summary, true
	case "subtasks":
		out := make([]any, 0, len(is.Subtasks))
		for _, st := range is.Subtasks {
			out = append(out, v.issueLink(st))
		}
		return out, true
	case "aggregateprogress", "progress":
		return map[string]any{"progress": 0, "total": 0}, true
	case "duedate":
		if is.DueDate == "" {
			return nil, true
		}
		return is.DueDate, true
	case "comment":
		cs := make([]any, 0, len(is.Comments))
		for _, c := range is.Comments {
			cs = append(cs, v.comment(is, c, false))
		}
		return map[string]any{"comments": cs, "maxResults": len(cs), "total": len(cs), "startAt": 0}, true
	case "worklog":
		return map[string]any{"startAt": 0, "maxResults": 20, "total": 0, "worklogs": []any{}}, true
	case "parent":
		if is.Parent == nil {
			return nil, false
		}
		return v.issueLink(is.Parent), true
	}
	if f := fieldByID[id]; f != nil && f.Custom {
		return v.customValue(f, is.Custom[id]), true
	}
	return nil, false
}

// fieldSelection is the parsed `fields` parameter of Jira's issue reads.
type fieldSelection struct {
	all       bool
	navigable bool
	include   map[string]bool
	exclude   map[string]bool
}

// parseFieldSelection reads Jira's `fields` syntax: "*all", "*navigable",
// names, and "-name" exclusions, comma-separated (possibly repeated).
// def is used when nothing is given.
func parseFieldSelection(values []string, def string) fieldSelection {
	sel := fieldSelection{include: map[string]bool{}, exclude: map[string]bool{}}
	n := 0
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			switch {
			case f == "":
			case f == "*all":
				sel.all = true
				n++
			case f == "*navigable":
				sel.navigable = true
				n++
			case strings.HasPrefix(f, "-"):
				sel.exclude[f[1:]] = true
			default:
				sel.include[f] = true
				n++
			}
		}
	}
	if n == 0 {
		switch def {
		case "*all":
			sel.all = true
		case "*navigable":
			sel.navigable = true
		}
	}
	return sel
}

// empty reports whether no field is selected (search/jql then returns ids).
func (s fieldSelection) empty() bool { return !s.all && !s.navigable && len(s.include) == 0 }

func (s fieldSelection) wants(id string) bool {
	if s.exclude[id] {
		return false
	}
	if s.all || s.include[id] {
		return true
	}
	return s.navigable && !notNavigable[id]
}

// fields renders the selected fields of an issue.
func (v view) fields(is *issue, sel fieldSelection) map[string]any {
	m := make(map[string]any, 48)
	for _, id := range systemFieldOrder {
		if !sel.wants(id) {
			continue
		}
		if val, ok := v.fieldValue(is, id); ok {
			m[id] = val
		}
	}
	for _, f := range customFields {
		if sel.wants(f.ID) {
			m[f.ID] = v.customValue(f, is.Custom[f.ID])
		}
	}
	return m
}

// changeItems renders changelog items, with JSON nulls for absent values
// as Jira writes them (Atlassian's changelog examples and the recorded
// deliveries alike).
func (v view) changeItems(items []changeItem) []any {
	out := make([]any, 0, len(items))
	for _, it := range items {
		m := map[string]any{
			"field": it.Field, "fieldtype": it.FieldType, "fieldId": it.FieldID,
			"from": it.From, "fromString": it.FromString, "to": it.To, "toString": it.ToString,
		}
		// Data Center names custom fields by display name only
		// (webhook-server-updated-custom-field.json; Jellyfish jf_agent PR
		// 110: "Some changelog history items do not have fieldId").
		if v.dc && it.FieldType == "custom" {
			delete(m, "fieldId")
		}
		out = append(out, m)
	}
	return out
}

func (v view) history(h *history) map[string]any {
	return map[string]any{
		"id":      strconv.FormatInt(h.ID, 10),
		"author":  v.user(h.Author),
		"created": jiraTime(h.Created),
		"items":   v.changeItems(h.Items),
	}
}

// issueOptions are the parts of an issue read that go beyond fields.
type issueOptions struct {
	fields    fieldSelection
	changelog bool
	props     []string // property keys, or "*all"
}

// issue renders an IssueBean.
func (v view) issue(is *issue, o issueOptions) map[string]any {
	m := map[string]any{
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
		"id":     strconv.FormatInt(is.ID, 10),
		"self":   v.issueSelf(is),
		"key":    is.Key,
	}
	if !o.fields.empty() {
		m["fields"] = v.fields(is, o.fields)
	}
	if o.changelog {
		m["changelog"] = v.issueChangelog(is)
	}
	if len(o.props) > 0 {
		props := map[string]any{}
		for _, k := range o.props {
			if k == "*all" {
				for pk, pv := range is.Props {
					props[pk] = pv
				}
				continue
			}
			if pv, ok := is.Props[k]; ok {
				props[k] = pv
			}
		}
		m["properties"] = props
	}
	return m
}

// serverTime is the clock reading formatted like Jira.
func serverTime(t time.Time) string { return jiraTime(t) }
