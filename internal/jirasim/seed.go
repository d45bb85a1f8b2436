package jirasim

import "strings"

// This file holds the seed data of PRODUCT.md §5: users, the SEC project,
// its issue types, workflow, priorities, resolutions and fields. Ids follow
// what real Jira sites use (statuses 10001/3/10002, priorities 1..5, custom
// fields customfield_100xx) so that code written against the simulator does
// not bake in made-up ids.

// user is a Jira account. Cloud identifies it by AccountID, Data Center by
// Name (username) and Key.
type user struct {
	AccountID   string
	Name        string
	Key         string
	Email       string
	DisplayName string
	APIToken    string // Cloud: Basic email:token
	PAT         string // Data Center: Bearer PAT
	Admin       bool
	// HideEmail: the person chose to hide their email (Cloud's profile
	// visibility): Cloud answers no emailAddress for them.
	HideEmail bool
	initials  string
}

// category is a status category: the stable meaning of a status.
type category struct {
	ID        int
	Key       string
	ColorName string
	Name      string
}

var (
	catNew         = &category{ID: 2, Key: "new", ColorName: "blue-gray", Name: "To Do"}
	catIndeterm    = &category{ID: 4, Key: "indeterminate", ColorName: "yellow", Name: "In Progress"}
	catDone        = &category{ID: 3, Key: "done", ColorName: "green", Name: "Done"}
	allCategories  = []*category{catNew, catIndeterm, catDone}
	statusToDo     = &status{ID: "10001", Name: "To Do", Description: "", Icon: "/", Cat: catNew}
	statusProgress = &status{ID: "3", Name: "In Progress", Description: "This issue is being actively worked on at the moment by the assignee.", Icon: "/images/icons/statuses/inprogress.png", Cat: catIndeterm}
	statusDone     = &status{ID: "10002", Name: "Done", Description: "", Icon: "/", Cat: catDone}
	statusWontDo   = &status{ID: "10003", Name: "Won't Do", Description: "This issue won't be actioned.", Icon: "/images/icons/statuses/generic.png", Cat: catDone}
	allStatuses    = []*status{statusToDo, statusProgress, statusDone, statusWontDo}
)

// status is a workflow status.
type status struct {
	ID          string
	Name        string
	Description string
	Icon        string // path under the base URL
	Cat         *category
}

// transition is a workflow transition. From lists the statuses it is
// available from; Resolution is set when it enters a done status.
type transition struct {
	ID         string
	Name       string
	From       []*status
	To         *status
	Resolution *resolution
	Event      string // Data Center issue_event_type_name
}

// resolution is a Jira resolution, set on entering a done status.
type resolution struct {
	ID          string
	Name        string
	Description string
}

var (
	resDone        = &resolution{ID: "10000", Name: "Done", Description: "Work has been completed on this issue."}
	resWontDo      = &resolution{ID: "10001", Name: "Won't Do", Description: "This issue won't be actioned."}
	resDuplicate   = &resolution{ID: "10002", Name: "Duplicate", Description: "The problem is a duplicate of an existing issue."}
	resCannotRep   = &resolution{ID: "10003", Name: "Cannot Reproduce", Description: "All attempts at reproducing this issue failed, or not enough information was available to reproduce the issue."}
	allResolutions = []*resolution{resDone, resWontDo, resDuplicate, resCannotRep}
)

// The workflow of PRODUCT.md §5: no direct To Do → Done.
var allTransitions = []*transition{
	{ID: "21", Name: "Start Progress", From: []*status{statusToDo}, To: statusProgress, Event: "issue_work_started"},
	{ID: "31", Name: "Stop Progress", From: []*status{statusProgress}, To: statusToDo, Event: "issue_work_stopped"},
	{ID: "41", Name: "Done", From: []*status{statusProgress}, To: statusDone, Resolution: resDone, Event: "issue_resolved"},
	{ID: "51", Name: "Won't Do", From: []*status{statusToDo, statusProgress}, To: statusWontDo, Resolution: resWontDo, Event: "issue_resolved"},
	{ID: "61", Name: "Reopen", From: []*status{statusDone, statusWontDo}, To: statusToDo, Event: "issue_reopened"},
}

// issueType is a Jira issue type.
type issueType struct {
	ID          string
	Name        string
	Description string
	Subtask     bool
	AvatarID    int
	Hierarchy   int
}

var (
	typeBug     = &issueType{ID: "10004", Name: "Bug", Description: "A problem or error.", AvatarID: 10303}
	typeTask    = &issueType{ID: "10002", Name: "Task", Description: "A small, distinct piece of work.", AvatarID: 10318}
	typeStory   = &issueType{ID: "10001", Name: "Story", Description: "Stories track functionality or features expressed as user goals.", AvatarID: 10315}
	typeSubtask = &issueType{ID: "10003", Name: "Sub-task", Description: "A small piece of work that's part of a larger task.", Subtask: true, AvatarID: 10316, Hierarchy: -1}
	allTypes    = []*issueType{typeBug, typeTask, typeStory, typeSubtask}
)

// priority is a Jira priority.
type priority struct {
	ID          string
	Name        string
	Description string
	Color       string
	Icon        string
}

var allPriorities = []*priority{
	{ID: "1", Name: "Highest", Description: "This problem will block progress.", Color: "#d04437", Icon: "highest.svg"},
	{ID: "2", Name: "High", Description: "Serious problem that could block progress.", Color: "#f15C75", Icon: "high.svg"},
	{ID: "3", Name: "Medium", Description: "Has the potential to affect progress.", Color: "#f79232", Icon: "medium.svg"},
	{ID: "4", Name: "Low", Description: "Minor problem or easily worked around.", Color: "#707070", Icon: "low.svg"},
	{ID: "5", Name: "Lowest", Description: "Trivial problem with little or no impact on progress.", Color: "#999999", Icon: "lowest.svg"},
}

// defaultPriority is the priority an issue gets when none is given.
var defaultPriority = allPriorities[2]

// project is a Jira project. SEC is the project of PRODUCT.md §5; OPS is a
// second project whose priority scheme and screens differ from SEC's, as
// projects of one real site do ("Priorities per project" in
// ../shared/jira/README.md), so that vulnsync cannot assume one project's
// configuration holds for another.
type project struct {
	ID          string
	Key         string
	Name        string
	Description string
	AvatarID    int
	// Priorities is the project's priority scheme (allowed priorities in
	// order); Default is the scheme's default.
	Priorities []*priority
	Default    *priority
	// SchemeID and SchemeName name the priority scheme (Cloud's
	// /priorityscheme).
	SchemeID   string
	SchemeName string
	// OffScreen are fields on neither the create nor the edit screen.
	OffScreen map[string]bool
	// Security is the project's issue security scheme (nil: none, and
	// the security field is on no screen).
	Security *securityScheme
}

// allowsPriority reports whether the project's priority scheme has p.
func (p *project) allowsPriority(pr *priority) bool {
	for _, x := range p.Priorities {
		if x == pr {
			return true
		}
	}
	return false
}

// onScreen reports whether field id is on the project's screens.
func (p *project) onScreen(id string) bool {
	if id == "security" && p.Security == nil {
		return false
	}
	return !p.OffScreen[id]
}

var (
	secProject = &project{ID: "10000", Key: ProjectKey, Name: "Security", Description: "Vulnerabilities tracked by the security team.", AvatarID: 10324,
		Priorities: allPriorities, Default: allPriorities[2], SchemeID: "1", SchemeName: "Default Priority Scheme", Security: seedSecurity}
	// opsProject leaves Lowest out of its priority scheme and Labels off
	// its screens.
	opsProject = &project{ID: "10001", Key: OpsProjectKey, Name: "Operations", Description: "Operational work of the platform team.", AvatarID: 10325,
		Priorities: allPriorities[:4], Default: allPriorities[2], SchemeID: "10100", SchemeName: "Operations priority scheme",
		OffScreen: map[string]bool{"labels": true}, Security: seedSecurity}
	allProjects = []*project{secProject, opsProject}
)

// projectByIDOrKey finds a project by id or key (case-insensitive), or by
// name when byName is set (JQL accepts names).
func projectByIDOrKey(ref string, byName bool) *project {
	for _, p := range allProjects {
		if ref == p.ID || strings.EqualFold(ref, p.Key) || (byName && strings.EqualFold(ref, p.Name)) {
			return p
		}
	}
	return nil
}

// fieldKind says how a field's value is parsed, stored and rendered.
type fieldKind int

const (
	kindOther fieldKind = iota // read-only or not settable
	kindSummary
	kindRich // description, environment: ADF on v3, wiki on v2
	kindIssueType
	kindProject
	kindPriority
	kindLabels
	kindParent
	kindUser // assignee, reporter
	kindDate // duedate
	kindFloat
	kindText
	kindSelect
	kindURL
	kindMultiSelect
	kindTextarea // rich-text custom field: ADF on v3, wiki on v2 and webhooks
	kindSecurity // the issue security level
)

// option is an allowed value of a select or multiselect field.
type option struct {
	ID    string
	Value string
}

// fieldDef describes one field: its schema as Jira publishes it (the
// `custom` type strings are the ones real Jira uses, see the recorded
// createmeta files) and how the simulator treats it.
type fieldDef struct {
	ID         string
	Name       string
	Custom     bool
	CustomID   int
	Type       string // schema.type
	Items      string // schema.items
	CustomType string // schema.custom
	Kind       fieldKind
	Options    []option
	// OnCreate: on the create screen; CreateOps: its operations there.
	OnCreate  bool
	CreateOps []string
	// Editable: on the edit screen (PUT issue).
	Editable  bool
	Navigable bool
	Orderable bool
	// Required on create for these issue type ids ("*" for all).
	RequiredFor map[string]bool
	ClauseNames []string
}

func (f *fieldDef) required(typeID string) bool {
	return f.RequiredFor["*"] || f.RequiredFor[typeID]
}

func (f *fieldDef) optionByValue(v string) *option {
	for i := range f.Options {
		if f.Options[i].Value == v {
			return &f.Options[i]
		}
	}
	return nil
}

func (f *fieldDef) optionByID(id string) *option {
	for i := range f.Options {
		if f.Options[i].ID == id {
			return &f.Options[i]
		}
	}
	return nil
}

var (
	setOnly        = []string{"set"}
	addSetRem      = []string{"add", "set", "remove"}
	requiredAlways = map[string]bool{"*": true}
)

// allFields lists the fields of the site in the order GET /field returns
// them. System fields not listed here (time tracking, votes, ...) are
// rendered read-only on issues but are not settable.
var allFields = []*fieldDef{
	{ID: "summary", Name: "Summary", Type: "string", Kind: kindSummary, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, RequiredFor: requiredAlways, ClauseNames: []string{"summary"}},
	{ID: "description", Name: "Description", Type: "string", Kind: kindRich, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"description"}},
	{ID: "issuetype", Name: "Issue Type", Type: "issuetype", Kind: kindIssueType, OnCreate: true, CreateOps: []string{}, Navigable: true, Orderable: true, RequiredFor: requiredAlways, ClauseNames: []string{"issuetype", "type"}},
	{ID: "project", Name: "Project", Type: "project", Kind: kindProject, OnCreate: true, CreateOps: setOnly, Navigable: true, RequiredFor: requiredAlways, ClauseNames: []string{"project"}},
	{ID: "parent", Name: "Parent", Type: "issuelink", Kind: kindParent, OnCreate: true, CreateOps: setOnly, Navigable: true, ClauseNames: []string{"parent"}},
	{ID: "priority", Name: "Priority", Type: "priority", Kind: kindPriority, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"priority"}},
	{ID: "labels", Name: "Labels", Type: "array", Items: "string", Kind: kindLabels, OnCreate: true, CreateOps: addSetRem, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"labels"}},
	{ID: "assignee", Name: "Assignee", Type: "user", Kind: kindUser, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"assignee"}},
	{ID: "reporter", Name: "Reporter", Type: "user", Kind: kindUser, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"reporter"}},
	{ID: "environment", Name: "Environment", Type: "string", Kind: kindRich, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"environment"}},
	{ID: "duedate", Name: "Due date", Type: "date", Kind: kindDate, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"due", "duedate"}},
	{ID: "security", Name: "Security Level", Type: "securitylevel", Kind: kindSecurity, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"level"}},
	{ID: "attachment", Name: "Attachment", Type: "array", Items: "attachment", OnCreate: true, CreateOps: []string{}, ClauseNames: []string{"attachments"}},
	{ID: "status", Name: "Status", Type: "status", Navigable: true, Orderable: true, ClauseNames: []string{"status"}},
	{ID: "resolution", Name: "Resolution", Type: "resolution", Navigable: true, Orderable: true, ClauseNames: []string{"resolution"}},
	{ID: "created", Name: "Created", Type: "datetime", Navigable: true, Orderable: true, ClauseNames: []string{"created", "createdDate"}},
	{ID: "updated", Name: "Updated", Type: "datetime", Navigable: true, Orderable: true, ClauseNames: []string{"updated", "updatedDate"}},
	{ID: "resolutiondate", Name: "Resolved", Type: "datetime", Navigable: true, Orderable: true, ClauseNames: []string{"resolutiondate", "resolved"}},
	{ID: "creator", Name: "Creator", Type: "user", Navigable: true, Orderable: true, ClauseNames: []string{"creator"}},
	{ID: "comment", Name: "Comment", Type: "comments-page", ClauseNames: []string{"comment"}},
	{ID: "subtasks", Name: "Sub-tasks", Type: "array", Items: "issuelinks", Navigable: true, ClauseNames: []string{"subtasks"}},
	{ID: "statuscategorychangedate", Name: "Status Category Changed", Type: "datetime", Navigable: true, Orderable: true, ClauseNames: []string{"statusCategoryChangedDate"}},
	{ID: "customfield_10050", Name: "CVSS Score", Custom: true, CustomID: 10050, Type: "number", CustomType: "com.atlassian.jira.plugin.system.customfieldtypes:float", Kind: kindFloat, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"cf[10050]", "CVSS Score"}},
	{ID: "customfield_10051", Name: "Asset ID", Custom: true, CustomID: 10051, Type: "string", CustomType: "com.atlassian.jira.plugin.system.customfieldtypes:textfield", Kind: kindText, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"cf[10051]", "Asset ID"}},
	{ID: "customfield_10052", Name: "Component", Custom: true, CustomID: 10052, Type: "option", CustomType: "com.atlassian.jira.plugin.system.customfieldtypes:select", Kind: kindSelect,
		Options:  []option{{ID: "10100", Value: "Web"}, {ID: "10101", Value: "API"}, {ID: "10102", Value: "Mobile"}},
		OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, RequiredFor: map[string]bool{typeBug.ID: true}, ClauseNames: []string{"cf[10052]", "Component"}},
	{ID: "customfield_10053", Name: "References", Custom: true, CustomID: 10053, Type: "string", CustomType: "com.atlassian.jira.plugin.system.customfieldtypes:url", Kind: kindURL, OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"cf[10053]", "References"}},
	{ID: "customfield_10054", Name: "Tags", Custom: true, CustomID: 10054, Type: "array", Items: "option", CustomType: "com.atlassian.jira.plugin.system.customfieldtypes:multiselect", Kind: kindMultiSelect,
		Options:  []option{{ID: "10103", Value: "pci"}, {ID: "10104", Value: "gdpr"}, {ID: "10105", Value: "sox"}},
		OnCreate: true, CreateOps: addSetRem, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"cf[10054]", "Tags"}},
	// A textarea custom field: createmeta reports schema type string with
	// the textarea custom type, and its value is rich text like the
	// description (README, "Textarea custom fields").
	{ID: "customfield_10055", Name: "Steps to reproduce", Custom: true, CustomID: 10055, Type: "string", CustomType: "com.atlassian.jira.plugin.system.customfieldtypes:textarea", Kind: kindTextarea,
		OnCreate: true, CreateOps: setOnly, Editable: true, Navigable: true, Orderable: true, ClauseNames: []string{"cf[10055]", "Steps to reproduce"}},
}

// fieldByID indexes allFields.
var fieldByID = func() map[string]*fieldDef {
	m := make(map[string]*fieldDef, len(allFields))
	for _, f := range allFields {
		m[f.ID] = f
	}
	return m
}()

// customFields lists the custom fields in id order.
var customFields = func() []*fieldDef {
	var out []*fieldDef
	for _, f := range allFields {
		if f.Custom {
			out = append(out, f)
		}
	}
	return out
}()

// The seed site's identities (PRODUCT.md §5), exported so that tests, the
// demo and benchmarks act as Jira users without repeating literals.
const (
	ProjectKey     = "SEC"
	OpsProjectKey  = "OPS" // the second project (profiles: priority scheme and screens differ)
	AdminEmail     = "admin@example.test"
	AdminToken     = "admin-token" // Cloud API token
	AdminPAT       = "admin-pat"   // Data Center personal access token
	AdminUsername  = "admin"
	AdminAccountID = "5b10ac8d82e05b22cc7d4ef5"
	DevEmail       = "dev@example.test"
	DevToken       = "dev-token"
	DevPAT         = "dev-pat"
	DevUsername    = "dev"
	DevAccountID   = "5b10a2844c20165700ede21e"
	// The third person hides their email on Cloud: vulnsync can never
	// match them to one of its users by email.
	PrivateEmail     = "private@example.test"
	PrivateUsername  = "private"
	PrivateAccountID = "5b10a2844c20165700ede21f"
)

func seedUsers() []*user {
	return []*user{
		{AccountID: AdminAccountID, Name: AdminUsername, Key: "JIRAUSER10000", Email: AdminEmail, DisplayName: "Site Admin", APIToken: AdminToken, PAT: AdminPAT, Admin: true, initials: "SA"},
		{AccountID: DevAccountID, Name: DevUsername, Key: "JIRAUSER10001", Email: DevEmail, DisplayName: "Dev User", APIToken: DevToken, PAT: DevPAT, initials: "DU"},
		{AccountID: PrivateAccountID, Name: PrivateUsername, Key: "JIRAUSER10002", Email: PrivateEmail, DisplayName: "Pat Private", APIToken: "private-token", PAT: "private-pat", HideEmail: true, initials: "PP"},
	}
}

func typeByIDOrName(id, name string) *issueType {
	for _, t := range allTypes {
		if (id != "" && t.ID == id) || (id == "" && name != "" && strings.EqualFold(t.Name, name)) {
			return t
		}
	}
	return nil
}

func priorityByIDOrName(id, name string) *priority {
	for _, p := range allPriorities {
		if (id != "" && p.ID == id) || (id == "" && name != "" && strings.EqualFold(p.Name, name)) {
			return p
		}
	}
	return nil
}

func resolutionByIDOrName(id, name string) *resolution {
	for _, r := range allResolutions {
		if (id != "" && r.ID == id) || (id == "" && name != "" && strings.EqualFold(r.Name, name)) {
			return r
		}
	}
	return nil
}

func (t *transition) availableFrom(st *status) bool {
	for _, f := range t.From {
		if f == st {
			return true
		}
	}
	return false
}
