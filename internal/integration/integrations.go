package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/jiraconn"
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

// View is an integration as the API shows it: a row of the Integrated
// Target List, with its mapping when asked for one.
type View struct {
	ID             string                   `json:"id"`
	ConnectionID   string                   `json:"connection_id"`
	ConnectionName string                   `json:"connection_name"`
	TargetID       string                   `json:"target_id"`
	TargetName     string                   `json:"target_name"`
	ProjectKey     string                   `json:"project_key"`
	State          tracker.IntegrationState `json:"state"`
	Mapping        *mapping.Document        `json:"mapping"`
	Backfill       tracker.BackfillProgress `json:"backfill"`
	// Paused is true while the sync keeps the integration's changes
	// without sending or applying them; Queue counts what waits (it is
	// also shown when active: work not yet done).
	Paused    bool              `json:"paused"`
	Queue     store.PendingWork `json:"queue"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

func (s *Service) integrationView(ctx context.Context, tx store.Tx, in store.Integration) (View, error) {
	v := View{ID: in.ID, ConnectionID: in.ConnectionID, TargetID: in.TargetID, ProjectKey: in.ProjectKey, State: in.State,
		Paused: in.State == tracker.IntegrationPaused, CreatedAt: in.CreatedAt, UpdatedAt: in.UpdatedAt}
	t, err := tx.GetTarget(ctx, in.TargetID)
	if err != nil {
		return v, err
	}
	v.TargetName = t.Name
	c, err := tx.GetConnection(ctx, in.ConnectionID)
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
		return View{}, jiraconn.Explain("read project "+in.ProjectKey, err)
	}
	now := s.now()
	row := store.Integration{ID: uuid.Must(uuid.NewV7()).String(), ConnectionID: in.ConnectionID, TargetID: in.TargetID,
		ProjectKey: in.ProjectKey, State: tracker.IntegrationNeedsMapping, CreatedAt: now, UpdatedAt: now}
	var v View
	err = s.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateIntegration(ctx, row); err != nil {
			return err
		}
		v, err = s.integrationView(ctx, tx, row)
		return err
	})
	if err != nil {
		return View{}, fmt.Errorf("integrate: %w", err)
	}
	s.audit.Record(ctx, "integration.create", "integration:"+v.ID, fmt.Sprintf("target %s with Jira project %s", v.TargetName, v.ProjectKey))
	s.refreshWebhook(ctx, in.ConnectionID)
	return v, nil
}

// checkOneToOne refuses a second target on a project, or a second project
// on a target, also across connections to the same Jira site, naming the
// other side. The store enforces the same per connection with unique keys.
func (s *Service) checkOneToOne(ctx context.Context, conn store.Connection, in IntegrationInput) error {
	return s.st.View(ctx, func(tx store.Tx) error {
		ins, err := tx.ListIntegrations(ctx)
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
			oc, err := tx.GetConnection(ctx, other.ConnectionID)
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
		ins, err := tx.ListIntegrations(ctx)
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

// fillProgress derives the backfill progress and the queue of a view.
func (s *Service) fillProgress(ctx context.Context, v *View) error {
	if s.cfg.Progress != nil {
		p, err := s.cfg.Progress(ctx, v.ID)
		if err != nil {
			return fmt.Errorf("backfill progress of %s: %w", v.ID, err)
		}
		v.Backfill = p
	}
	if s.cfg.Queue != nil {
		q, err := s.cfg.Queue(ctx, v.ID)
		if err != nil {
			return fmt.Errorf("sync queue of %s: %w", v.ID, err)
		}
		v.Queue = q
	}
	return nil
}

// Pause stops an active integration's sync without losing anything: changes
// on either side are kept (jobs wait, webhook deliveries are recorded)
// and neither sent nor applied until Resume. Pausing a paused integration
// changes nothing; one without a mapping is EUnprocessable.
func (s *Service) Pause(ctx context.Context, id string) (View, error) {
	v, _, err := s.setPaused(ctx, id, true)
	return v, err
}

// Resume restarts a paused integration's sync; what waited is drained
// (OnResume). Resuming an active integration changes nothing.
func (s *Service) Resume(ctx context.Context, id string) (View, error) {
	v, changed, err := s.setPaused(ctx, id, false)
	if err == nil && changed && s.cfg.OnResume != nil {
		s.cfg.OnResume(ctx, id)
	}
	return v, err
}

// setPaused moves an integration between active and paused; changed is
// false when it already stood where asked.
func (s *Service) setPaused(ctx context.Context, id string, pause bool) (View, bool, error) {
	from, to, action := tracker.IntegrationActive, tracker.IntegrationPaused, "integration.pause"
	if !pause {
		from, to, action = to, from, "integration.resume"
	}
	changed := false
	var v View
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.GetIntegration(ctx, id)
		if err != nil {
			return err
		}
		switch cur.State {
		case from:
			cur.State, cur.UpdatedAt, changed = to, s.now(), true
			if err := tx.UpdateIntegration(ctx, cur); err != nil {
				return err
			}
		case to:
		default:
			return tracker.Errorf(tracker.EUnprocessable, "the integration has no accepted mapping yet: it does not sync, so it cannot be paused or resumed")
		}
		v, err = s.integrationView(ctx, tx, cur)
		return err
	})
	if err != nil {
		return View{}, false, fmt.Errorf("%s %s: %w", action, id, err)
	}
	if changed {
		s.audit.Record(ctx, action, "integration:"+id, "")
	}
	return v, changed, s.fillProgress(ctx, &v)
}

// Integration returns one integration with its mapping and progress.
func (s *Service) Integration(ctx context.Context, id string) (View, error) {
	var v View
	err := s.st.View(ctx, func(tx store.Tx) error {
		in, err := tx.GetIntegration(ctx, id)
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
		in, err := tx.GetIntegration(ctx, id)
		if err != nil {
			return err
		}
		connID = in.ConnectionID
		return tx.DeleteIntegration(ctx, id)
	})
	if err != nil {
		return fmt.Errorf("remove integration: %w", err)
	}
	s.audit.Record(ctx, "integration.delete", "integration:"+id, "")
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
		cur, err := tx.GetIntegration(ctx, id)
		if err != nil {
			return err
		}
		cur.Mapping, cur.UpdatedAt = stored, s.now()
		if cur.State == tracker.IntegrationNeedsMapping {
			cur.State = tracker.IntegrationActive
		}
		if err := tx.UpdateIntegration(ctx, cur); err != nil {
			return err
		}
		v, err = s.integrationView(ctx, tx, cur)
		return err
	})
	if err != nil {
		return View{}, fmt.Errorf("store mapping: %w", err)
	}
	s.audit.Record(ctx, "mapping.set", "integration:"+id, fmt.Sprintf("%d bytes", len(raw)))
	if s.cfg.OnMappingSet != nil {
		s.cfg.OnMappingSet(ctx, id)
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
	err = s.st.View(ctx, func(tx store.Tx) error { in, err = tx.GetIntegration(ctx, id); return err })
	return in, err
}

// ProjectMeta returns the (cached) metadata of a Jira project; refresh
// forces a new fetch.
func (s *Service) ProjectMeta(ctx context.Context, connectionID, projectKey string, refresh bool) (jiraconn.ProjectMeta, error) {
	return s.conns.ProjectMeta(ctx, connectionID, projectKey, refresh)
}

// SuggestMapping proposes a first mapping document for an integration from
// its Jira project's metadata and the tracker's catalog, for the admin to
// review before PUT .../mapping (the UI's Configure page starts from it).
// It changes nothing.
func (s *Service) SuggestMapping(ctx context.Context, id string) (mapping.Document, error) {
	in, err := s.integration(ctx, id)
	if err != nil {
		return mapping.Document{}, err
	}
	cat, err := s.cfg.Tracker.Catalog(ctx)
	if err != nil {
		return mapping.Document{}, fmt.Errorf("read the catalog: %w", err)
	}
	meta, err := s.ProjectMeta(ctx, in.ConnectionID, in.ProjectKey, false)
	if err != nil {
		return mapping.Document{}, err
	}
	return mapping.Suggest(meta.Meta, cat), nil
}

// PersonMatch says whether a vulnsync user is matched to a Jira account
// (by email, through Jira's user search), for assignee sync.
type PersonMatch struct {
	UserID  string `json:"user_id"`
	Email   string `json:"email"`
	Name    string `json:"name"`
	Matched bool   `json:"matched"`
	// JiraAccount is the Jira accountId (Cloud) or user name (Data
	// Center) of the match; JiraName its display name.
	JiraAccount string `json:"jira_account,omitempty"`
	JiraName    string `json:"jira_name,omitempty"`
	// Reason says why a person is not matched.
	Reason string `json:"reason,omitempty"`
}

// maxPeopleChecked bounds the user searches one listing makes.
const maxPeopleChecked = 200

// People lists the active vulnsync users and their Jira match through the
// integration's connection: who can be an assignee on both sides. A Jira
// account that hides its email (Cloud) is "not matched", never guessed.
func (s *Service) People(ctx context.Context, integrationID string) ([]PersonMatch, error) {
	in, err := s.integration(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	var users []tracker.User
	if err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		users, err = tx.ListUsers(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	client, err := s.Client(ctx, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	out := []PersonMatch{}
	for _, u := range users {
		if !u.Active {
			continue
		}
		if len(out) == maxPeopleChecked {
			break
		}
		m := PersonMatch{UserID: u.ID, Email: u.Email, Name: u.Name}
		ju, err := client.FindUserByEmail(ctx, u.Email)
		switch {
		case err != nil:
			return nil, jiraconn.Explain("search Jira's users", err)
		case ju == nil:
			m.Reason = "no Jira account shows this email (it may not exist, or its owner hides their email)"
		default:
			m.Matched, m.JiraAccount, m.JiraName = true, firstNonEmpty(ju.AccountID, ju.Name), ju.DisplayName
		}
		out = append(out, m)
	}
	return out, nil
}
