package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/mapping"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// IntegrationInput integrates a target with a Jira project.
type IntegrationInput struct {
	ConnectionID string `json:"connection_id"`
	TargetID     string `json:"target_id"`
	ProjectKey   string `json:"project_key"`
}

// Progress is a backfill's progress.
type Progress struct {
	Total  int `json:"total"`
	Done   int `json:"done"`
	Failed int `json:"failed"`
}

// View is an integration as the API shows it: a row of the Integrated
// Target List, with its mapping when asked for one.
type View struct {
	ID             string            `json:"id"`
	ConnectionID   string            `json:"connection_id"`
	ConnectionName string            `json:"connection_name"`
	TargetID       string            `json:"target_id"`
	TargetName     string            `json:"target_name"`
	ProjectKey     string            `json:"project_key"`
	State          string            `json:"state"`
	Mapping        *mapping.Document `json:"mapping"`
	Backfill       Progress          `json:"backfill"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

func (s *Service) integrationView(ctx context.Context, tx store.Tx, in store.Integration) (View, error) {
	v := View{ID: in.ID, ConnectionID: in.ConnectionID, TargetID: in.TargetID, ProjectKey: in.ProjectKey, State: in.State,
		CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}
	t, err := tx.GetTarget(ctx, in.TargetID)
	if err != nil {
		return v, err
	}
	v.TargetName = t.Name
	c, err := itx(tx).GetConnection(ctx, in.ConnectionID)
	if err != nil {
		return v, err
	}
	v.ConnectionName = c.Name
	if len(in.Mapping) > 0 {
		d, err := decodeMapping(in.Mapping)
		if err != nil {
			return v, fmt.Errorf("stored mapping of %s: %w", in.ID, err)
		}
		v.Mapping = &d
	}
	return v, nil
}

// Integrate links a target to a Jira project through a connection. The
// project must exist in Jira; one project ↔ one target (409 naming the
// other side otherwise).
func (s *Service) Integrate(ctx context.Context, in IntegrationInput) (View, error) {
	in.ProjectKey = strings.ToUpper(strings.TrimSpace(in.ProjectKey))
	p := tracker.Problems{}
	if in.ConnectionID == "" {
		p.Add("connection_id", "required")
	}
	if in.TargetID == "" {
		p.Add("target_id", "required")
	}
	if in.ProjectKey == "" {
		p.Add("project_key", "required")
	}
	if err := p.Err(tracker.EInvalid, "invalid integration"); err != nil {
		return View{}, err
	}
	conn, err := s.connection(ctx, in.ConnectionID)
	if err != nil {
		return View{}, err
	}
	if _, err := s.cfg.Tracker.GetTarget(ctx, in.TargetID); err != nil {
		return View{}, err
	}
	if err := s.checkOneToOne(ctx, conn, in); err != nil {
		return View{}, err
	}
	client, err := s.Client(ctx, in.ConnectionID)
	if err != nil {
		return View{}, err
	}
	if _, err := client.Project(ctx, in.ProjectKey); err != nil {
		if jira.IsNotFound(err) {
			return View{}, &tracker.Error{Kind: tracker.EUnprocessable, Message: "no such Jira project",
				Fields: map[string]string{"project_key": fmt.Sprintf("project %s does not exist in Jira or the service account cannot see it", in.ProjectKey)}}
		}
		return View{}, explain("read project "+in.ProjectKey, err)
	}
	now := s.now()
	row := store.Integration{ID: uuid.Must(uuid.NewV7()).String(), ConnectionID: in.ConnectionID, TargetID: in.TargetID,
		ProjectKey: in.ProjectKey, State: StateNeedsMapping, CreatedAt: now, UpdatedAt: now}
	var v View
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := itx(tx).CreateIntegration(ctx, row); err != nil {
			return err
		}
		v, err = s.integrationView(ctx, tx, row)
		return err
	})
	if err != nil {
		return View{}, fmt.Errorf("integrate: %w", err)
	}
	s.refreshWebhook(ctx, in.ConnectionID)
	return v, nil
}

// checkOneToOne refuses a second target on a project, or a second project
// on a target, also across connections to the same Jira site, naming the
// other side. The store enforces the same per connection with unique keys.
func (s *Service) checkOneToOne(ctx context.Context, conn store.Connection, in IntegrationInput) error {
	return s.st.View(ctx, func(tx store.Tx) error {
		ins, err := itx(tx).ListIntegrations(ctx)
		if err != nil {
			return err
		}
		for _, other := range ins {
			if other.TargetID == in.TargetID {
				t, _ := tx.GetTarget(ctx, in.TargetID)
				return tracker.Errorf(tracker.EConflict, "target %q is already integrated with Jira project %s; one target maps to one project (remove that integration first)", t.Name, other.ProjectKey)
			}
			if !strings.EqualFold(other.ProjectKey, in.ProjectKey) {
				continue
			}
			oc, err := itx(tx).GetConnection(ctx, other.ConnectionID)
			if err != nil {
				return err
			}
			if oc.ID == conn.ID || strings.EqualFold(oc.BaseURL, conn.BaseURL) {
				t, _ := tx.GetTarget(ctx, other.TargetID)
				return tracker.Errorf(tracker.EConflict, "Jira project %s is already integrated with target %q; one project maps to one target", in.ProjectKey, t.Name)
			}
		}
		return nil
	})
}

// Integrations is the Integrated Target List.
func (s *Service) Integrations(ctx context.Context) ([]View, error) {
	var out []View
	err := s.st.View(ctx, func(tx store.Tx) error {
		ins, err := itx(tx).ListIntegrations(ctx)
		if err != nil {
			return err
		}
		for _, in := range ins {
			v, err := s.integrationView(ctx, tx, in)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	for i := range out {
		if err == nil {
			err = s.fillProgress(ctx, &out[i])
		}
	}
	return out, err
}

// fillProgress derives the backfill progress of a view.
func (s *Service) fillProgress(ctx context.Context, v *View) error {
	if s.progress == nil {
		return nil
	}
	p, err := s.progress(ctx, v.ID)
	if err != nil {
		return fmt.Errorf("backfill progress of %s: %w", v.ID, err)
	}
	v.Backfill = p
	return nil
}

// Integration returns one integration with its mapping and progress.
func (s *Service) Integration(ctx context.Context, id string) (View, error) {
	var v View
	err := s.st.View(ctx, func(tx store.Tx) error {
		in, err := itx(tx).GetIntegration(ctx, id)
		if err != nil {
			return err
		}
		v, err = s.integrationView(ctx, tx, in)
		return err
	})
	if err == nil {
		err = s.fillProgress(ctx, &v)
	}
	return v, err
}

// RemoveIntegration removes an integration; its items keep their history
// and stop syncing. The webhook's JQL follows.
func (s *Service) RemoveIntegration(ctx context.Context, id string) error {
	var connID string
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		in, err := itx(tx).GetIntegration(ctx, id)
		if err != nil {
			return err
		}
		connID = in.ConnectionID
		return itx(tx).DeleteIntegration(ctx, id)
	})
	if err != nil {
		return fmt.Errorf("remove integration: %w", err)
	}
	s.refreshWebhook(ctx, connID)
	return nil
}

// SetMapping validates a mapping document against the Jira project and
// stores it; the integration becomes active. Problems answer 422, field by
// field. When validation names a Jira field the cached metadata does not
// know, the metadata is fetched again once before answering.
func (s *Service) SetMapping(ctx context.Context, id string, raw json.RawMessage) (View, error) {
	doc, err := decodeMapping(raw)
	if err != nil {
		return View{}, err
	}
	in, err := s.integration(ctx, id)
	if err != nil {
		return View{}, err
	}
	cat, err := s.cfg.Tracker.Catalog(ctx)
	if err != nil {
		return View{}, err
	}
	meta, err := s.ProjectMeta(ctx, in.ConnectionID, in.ProjectKey, false)
	if err != nil {
		return View{}, err
	}
	verr := doc.Validate(meta.Meta, cat)
	if verr != nil && mentionsUnknownField(verr) {
		if meta, err = s.ProjectMeta(ctx, in.ConnectionID, in.ProjectKey, true); err != nil {
			return View{}, err
		}
		verr = doc.Validate(meta.Meta, cat)
	}
	if verr != nil {
		return View{}, verr
	}
	stored, err := json.Marshal(doc)
	if err != nil {
		return View{}, fmt.Errorf("encode mapping: %w", err)
	}
	var v View
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		cur, err := itx(tx).GetIntegration(ctx, id)
		if err != nil {
			return err
		}
		cur.Mapping, cur.UpdatedAt = stored, s.now()
		if cur.State == StateNeedsMapping {
			cur.State = StateActive
		}
		if err := itx(tx).UpdateIntegration(ctx, cur); err != nil {
			return err
		}
		v, err = s.integrationView(ctx, tx, cur)
		return err
	})
	if err != nil {
		return View{}, fmt.Errorf("store mapping: %w", err)
	}
	for _, h := range s.mappingHooks {
		h(ctx, id)
	}
	return v, nil
}

func mentionsUnknownField(err error) bool {
	e, ok := err.(*tracker.Error)
	if !ok {
		return false
	}
	for _, msg := range e.Fields {
		if strings.Contains(msg, "is not on the create screen") {
			return true
		}
	}
	return false
}

func (s *Service) integration(ctx context.Context, id string) (in store.Integration, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error { in, err = itx(tx).GetIntegration(ctx, id); return err })
	return in, err
}

// ProjectMeta is what the UI offers when configuring a mapping: the
// project's issue types with their fields, workflow statuses, priorities
// and all fields.
type ProjectMeta struct {
	mapping.Meta
	Fields []jira.Field
}

// ProjectMeta returns the (cached) metadata of a Jira project; refresh
// forces a new fetch.
func (s *Service) ProjectMeta(ctx context.Context, connectionID, projectKey string, refresh bool) (ProjectMeta, error) {
	key := connectionID + "/" + projectKey
	s.mu.Lock()
	cached, ok := s.meta[key]
	s.mu.Unlock()
	if ok && !refresh && time.Since(cached.fetched) < s.cfg.MetaTTL {
		return ProjectMeta{Meta: cached.meta, Fields: cached.fields}, nil
	}
	client, err := s.Client(ctx, connectionID)
	if err != nil {
		return ProjectMeta{}, err
	}
	meta, fields, err := fetchMeta(ctx, client, projectKey)
	if err != nil {
		return ProjectMeta{}, err
	}
	s.mu.Lock()
	s.meta[key] = cachedMeta{meta: meta, fields: fields, fetched: time.Now()}
	s.mu.Unlock()
	return ProjectMeta{Meta: meta, Fields: fields}, nil
}

// fetchMeta reads createmeta (issue types and their fields), the project's
// statuses per issue type, the priorities and the field list.
func fetchMeta(ctx context.Context, c *jira.Client, projectKey string) (mapping.Meta, []jira.Field, error) {
	m := mapping.Meta{ProjectKey: projectKey, Statuses: map[string][]mapping.Status{}}
	types, err := c.CreateMetaIssueTypes(ctx, projectKey)
	if err != nil {
		return m, nil, explain("read the issue types of "+projectKey, err)
	}
	for _, t := range types {
		fields, err := c.CreateMetaFields(ctx, projectKey, t.ID)
		if err != nil {
			return m, nil, explain("read the fields of "+t.Name, err)
		}
		it := mapping.IssueType{ID: t.ID, Name: t.Name, Subtask: t.Subtask}
		for _, f := range fields {
			jf := mapping.JiraField{ID: f.FieldID, Name: f.Name, Required: f.Required, HasDefault: f.HasDefaultValue}
			if f.Schema != nil {
				jf.Schema = mapping.Schema{Type: f.Schema.Type, Items: f.Schema.Items, System: f.Schema.System, Custom: f.Schema.Custom}
			}
			for _, av := range f.AllowedValues {
				switch {
				case av.Value != "":
					jf.AllowedValues = append(jf.AllowedValues, av.Value)
				case av.Name != "":
					jf.AllowedValues = append(jf.AllowedValues, av.Name)
				}
			}
			it.Fields = append(it.Fields, jf)
		}
		m.IssueTypes = append(m.IssueTypes, it)
	}
	statuses, err := c.ProjectStatuses(ctx, projectKey)
	if err != nil {
		return m, nil, explain("read the statuses of "+projectKey, err)
	}
	for _, its := range statuses {
		for _, st := range its.Statuses {
			m.Statuses[its.Name] = append(m.Statuses[its.Name], mapping.Status{ID: st.ID, Name: st.Name, Category: st.Category.Key})
		}
	}
	prios, err := c.Priorities(ctx)
	if err != nil {
		return m, nil, explain("read the priorities", err)
	}
	for _, p := range prios {
		m.Priorities = append(m.Priorities, p.Name)
	}
	fields, err := c.Fields(ctx)
	if err != nil {
		return m, nil, explain("read the fields", err)
	}
	return m, fields, nil
}
