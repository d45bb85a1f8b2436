package doctor

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/vulnsync/vulnsync/internal/jira"
)

// checkProject runs the checks about the project vulnsync will sync with:
// issue types, required fields, screens, priorities and workflow.
func (r *run) checkProject(ctx context.Context) {
	key := r.opts.ProjectKey
	if key == "" {
		r.add(Check{ID: "project", Title: "Project", Status: Skip, Detail: "no --project given: issue types, fields, screens, priorities and workflow not checked",
			Fix: "Run again with --project KEY."})
		return
	}
	p, err := r.c.Project(ctx, key)
	if err != nil {
		ch := Check{ID: "project", Title: "Project", Status: Fail, Detail: "cannot read project " + key + ": " + reason(err),
			Fix: "Check the project key, and that the service account can browse the project."}
		r.add(ch)
		return
	}

	// Issue types.
	have := map[string]jira.IssueType{}
	var names []string
	for _, it := range p.IssueTypes {
		have[strings.ToLower(it.Name)] = it
		names = append(names, it.Name)
	}
	var missing []string
	var mapped []jira.IssueType
	for _, want := range r.opts.IssueTypes {
		if it, ok := have[strings.ToLower(want)]; ok {
			mapped = append(mapped, it)
		} else {
			missing = append(missing, want)
		}
	}
	ch := Check{ID: "project", Title: "Project and issue types", Status: OK,
		Detail: fmt.Sprintf("%s (%s) has %s", p.Key, p.Name, strings.Join(names, ", "))}
	if len(missing) > 0 {
		ch.Status = Warn
		ch.Detail += "; missing " + strings.Join(missing, ", ")
		ch.Fix = "Map vulnsync's item types to issue types the project has (mapping → issue_types), or add them to the project's issue type scheme."
	}
	r.add(ch)

	r.checkCreateScreens(ctx, key, mapped)
	r.checkPriorities(ctx, p)
	r.checkWorkflow(ctx, key, mapped)
}

// checkCreateScreens reads createmeta per mapped issue type: required
// fields vulnsync does not fill, and Labels/Priority missing from the
// create screen. An example issue's editmeta adds the edit screen.
func (r *run) checkCreateScreens(ctx context.Context, key string, mapped []jira.IssueType) {
	creatable, err := r.c.CreateMetaIssueTypes(ctx, key)
	if err != nil {
		r.add(Check{ID: "fields", Title: "Required fields", Status: Warn, Detail: "cannot read create metadata: " + reason(err),
			Fix: "The service account needs Create Issues in the project to read its create screens."})
		return
	}
	ids := map[string]string{}
	for _, it := range creatable {
		ids[strings.ToLower(it.Name)] = it.ID
	}
	var required, noLabels, noPriority, notCreatable []string
	for _, it := range mapped {
		id, ok := ids[strings.ToLower(it.Name)]
		if !ok {
			notCreatable = append(notCreatable, it.Name)
			continue
		}
		fields, err := r.c.CreateMetaFields(ctx, key, id)
		if err != nil {
			r.add(Check{ID: "fields", Title: "Required fields", Status: Warn, Detail: "cannot read the create screen of " + it.Name + ": " + reason(err)})
			return
		}
		on := map[string]bool{}
		for _, f := range fields {
			on[f.FieldID] = true
			if f.Required && !f.HasDefaultValue && !fieldsVulnsyncSets[f.FieldID] {
				required = append(required, fmt.Sprintf("%s: %s (%s)", it.Name, f.Name, f.FieldID))
			}
		}
		if !on["labels"] {
			noLabels = append(noLabels, it.Name)
		}
		if !on["priority"] {
			noPriority = append(noPriority, it.Name)
		}
	}
	ch := Check{ID: "fields", Title: "Required fields", Status: OK, Detail: "no required field beyond those vulnsync sets"}
	if len(required) > 0 {
		ch.Status = Warn
		ch.Detail = "required without a default: " + strings.Join(required, "; ")
		ch.Fix = "Give each a value in the mapping (fields or defaults), or make it optional in the project's field configuration; otherwise Jira refuses vulnsync's creates."
	}
	if len(notCreatable) > 0 {
		ch.Status = Warn
		ch.Detail += "; cannot create " + strings.Join(notCreatable, ", ")
		ch.Fix = strings.TrimSpace(ch.Fix + " The service account cannot create " + strings.Join(notCreatable, ", ") + " issues: check the issue type scheme and Create Issues.")
	}
	r.add(ch)

	sc := Check{ID: "screens", Title: "Create and edit screens", Status: OK, Detail: "Labels and Priority are on the create screens"}
	var problems []string
	if len(noLabels) > 0 {
		problems = append(problems, "Labels is not on the create screen of "+strings.Join(noLabels, ", "))
	}
	if len(noPriority) > 0 {
		problems = append(problems, "Priority is not on the create screen of "+strings.Join(noPriority, ", "))
	}
	if issueKey, ok := r.exampleIssue(ctx, key); ok {
		em, err := r.c.EditMeta(ctx, issueKey)
		switch {
		case err != nil:
			problems = append(problems, "cannot read the edit screen of "+issueKey+": "+reason(err))
		default:
			var off []string
			for _, f := range []struct{ id, name string }{{"labels", "Labels"}, {"priority", "Priority"}} {
				if _, ok := em[f.id]; !ok {
					off = append(off, f.name)
				}
			}
			if len(off) > 0 {
				problems = append(problems, strings.Join(off, " and ")+" not on the edit screen (checked on "+issueKey+")")
			} else {
				sc.Detail = "Labels and Priority are on the create and edit screens"
			}
		}
	}
	if len(problems) > 0 {
		sc.Status = Warn
		sc.Detail = strings.Join(problems, "; ")
		sc.Fix = "Add the fields to the project's create and edit screens (Project settings → Screens), or leave them out of the mapping: Jira refuses a field that is \"not on the appropriate screen\", and vulnsync then syncs without it."
	}
	r.add(sc)
}

// exampleIssue finds the newest issue of the project, to read its edit
// screen and its transitions (GET search only).
func (r *run) exampleIssue(ctx context.Context, key string) (string, bool) {
	if r.example != nil {
		return *r.example, *r.example != ""
	}
	found := ""
	page, err := r.c.SearchJQL(ctx, "project = "+key+" ORDER BY created DESC", []string{"status"}, "", 1)
	if err == nil && len(page.Issues) > 0 {
		found = page.Issues[0].Key
		if found == "" {
			found = page.Issues[0].ID
		}
	}
	r.example = &found
	return found, found != ""
}

func (r *run) checkPriorities(ctx context.Context, p *jira.Project) {
	ch := Check{ID: "priorities", Title: "Allowed priorities"}
	prios, err := r.c.ProjectPriorities(ctx, p.ID)
	if err != nil {
		ch.Status, ch.Detail = Warn, "cannot read the project's priorities: "+reason(err)
		r.add(ch)
		return
	}
	allowed := map[string]bool{}
	var names []string
	for _, pr := range prios {
		allowed[strings.ToLower(pr.Name)] = true
		names = append(names, pr.Name)
	}
	var missing []string
	for _, want := range r.opts.Priorities {
		if !allowed[strings.ToLower(want)] {
			missing = append(missing, want)
		}
	}
	ch.Status, ch.Detail = OK, "the project allows "+strings.Join(names, ", ")
	if len(missing) > 0 {
		ch.Status = Warn
		ch.Detail = fmt.Sprintf("%s not allowed by %s's priority scheme (allowed: %s)", strings.Join(missing, ", "), p.Key, strings.Join(names, ", "))
		ch.Fix = "Map every severity to an allowed priority (mapping → priority), or add " + strings.Join(missing, ", ") + " to the project's priority scheme."
	}
	r.add(ch)
}

// checkWorkflow reads the statuses of the mapped issue types (a
// done-category status must exist to close resolved items) and the
// transitions of an example issue (required fields such as resolution).
func (r *run) checkWorkflow(ctx context.Context, key string, mapped []jira.IssueType) {
	ch := Check{ID: "workflow", Title: "Workflow statuses"}
	per, err := r.c.ProjectStatuses(ctx, key)
	if err != nil {
		ch.Status, ch.Detail = Warn, "cannot read the project's statuses: "+reason(err)
		r.add(ch)
	} else {
		want := map[string]bool{}
		for _, it := range mapped {
			want[it.ID] = true
		}
		var noDone, summary []string
		for _, its := range per {
			if len(want) > 0 && !want[its.ID] {
				continue
			}
			cats := map[string]bool{}
			var sts []string
			for _, s := range its.Statuses {
				cats[s.Category.Key] = true
				sts = append(sts, s.Name)
			}
			summary = append(summary, its.Name+": "+strings.Join(sts, ", "))
			if !cats["done"] {
				noDone = append(noDone, its.Name)
			}
		}
		ch.Status, ch.Detail = OK, strings.Join(summary, "; ")
		if len(noDone) > 0 {
			ch.Status = Fail
			ch.Detail = "no status in the done category for " + strings.Join(noDone, ", ") + " (" + ch.Detail + ")"
			ch.Fix = "Add a done-category status to the workflow of those issue types: vulnsync closes resolved items by moving them there."
		}
		r.add(ch)
	}

	tc := Check{ID: "transitions", Title: "Transition screens"}
	// A read-only doctor sees only the transitions out of an issue's
	// current status: read them from the newest issue of each status
	// category that has outgoing transitions to check.
	var ts []jira.Transition
	var from []string
	seen := map[string]bool{}
	for _, cat := range []string{`"To Do"`, `"In Progress"`} {
		page, err := r.c.SearchJQL(ctx, "project = "+key+" AND statusCategory = "+cat+" ORDER BY created DESC", []string{"status"}, "", 1)
		if err != nil || len(page.Issues) == 0 {
			continue
		}
		is := page.Issues[0]
		got, err := r.c.Transitions(ctx, is.Key)
		if err != nil {
			tc.Status, tc.Detail = Warn, "cannot read the transitions of "+is.Key+": "+reason(err)
			r.add(tc)
			return
		}
		from = append(from, is.Key+" ("+is.Status.Name+")")
		for _, t := range got {
			if !seen[t.ID] {
				seen[t.ID] = true
				ts = append(ts, t)
			}
		}
	}
	if len(from) == 0 {
		tc.Status, tc.Detail = Skip, "no open issue in "+key+" to read transitions from"
		tc.Fix = "Run the doctor again once the project has an issue (ideally one in progress, whose transitions into done are the ones that require fields)."
		r.add(tc)
		return
	}
	issueKey := strings.Join(from, ", ")
	var needResolution, needOther []string
	for _, t := range ts {
		for id, f := range t.Fields {
			if !f.Required {
				continue
			}
			name := f.Name
			if name == "" {
				name = id
			}
			if id == "resolution" {
				needResolution = append(needResolution, t.Name+" → "+t.To.Name)
			} else {
				needOther = append(needOther, fmt.Sprintf("%s → %s needs %s", t.Name, t.To.Name, name))
			}
		}
	}
	slices.Sort(needResolution)
	slices.Sort(needOther)
	tc.Status = OK
	tc.Detail = fmt.Sprintf("%d transitions from %s, none requires a field", len(ts), issueKey)
	var notes, fixes []string
	if len(needResolution) > 0 {
		notes = append(notes, "resolution required by "+strings.Join(needResolution, ", "))
		fixes = append(fixes, "Map a resolution per target status (e.g. Done → Fixed, Won't Do → Won't Do) so vulnsync can send it with the transition.")
	}
	if len(needOther) > 0 {
		notes = append(notes, strings.Join(needOther, "; "))
		fixes = append(fixes, "Remove those fields from the transition screens or make them optional; vulnsync fills only the resolution.")
	}
	if len(notes) > 0 {
		tc.Status = Warn
		tc.Detail = strings.Join(notes, "; ") + " (checked on " + issueKey + ")"
		tc.Fix = strings.Join(fixes, " ")
	}
	r.add(tc)
}
