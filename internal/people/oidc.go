package people

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// OIDCConfig configures single sign-on (OpenID Connect, authorization
// code flow with PKCE).
type OIDCConfig struct {
	// Issuer is the identity provider's issuer URL (discovery at
	// Issuer/.well-known/openid-configuration).
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is vulnsync's callback: PublicURL/signin/oidc/callback.
	RedirectURL string
	// DefaultRole is given to a person on first sign-in when no group
	// maps to a role (default viewer).
	DefaultRole tracker.Role
	// GroupsClaim names the ID token claim listing the person's groups
	// (default "groups").
	GroupsClaim string
	// GroupRoles maps a group to a role; at each sign-in the highest
	// role of the person's groups applies, so a change in the identity
	// provider follows at the next sign-in.
	GroupRoles map[string]tracker.Role
}

// OIDC is the single sign-on client. The provider's discovery document is
// fetched at the first sign-in, not at start: vulnsync starts (and token
// sign-in works) while the identity provider is down.
type OIDC struct {
	cfg  OIDCConfig
	mu   sync.Mutex
	prov *oidc.Provider
}

// NewOIDC returns the client; cfg.Issuer and cfg.ClientID are required.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	p := tracker.Problems{}
	if !strings.HasPrefix(cfg.Issuer, "https://") && !strings.HasPrefix(cfg.Issuer, "http://") {
		p.Add("oidc-issuer", "must be the identity provider's issuer URL")
	}
	if cfg.ClientID == "" {
		p.Add("oidc-client-id", "is required with --oidc-issuer")
	}
	if cfg.DefaultRole == "" {
		cfg.DefaultRole = tracker.RoleViewer
	}
	if !cfg.DefaultRole.Valid() {
		p.Add("oidc-default-role", "must be viewer, analyst or admin")
	}
	for g, r := range cfg.GroupRoles {
		if !r.Valid() {
			p.Add("oidc-group-roles", "group %q maps to an unknown role %q", g, r)
		}
	}
	if cfg.GroupsClaim == "" {
		cfg.GroupsClaim = "groups"
	}
	if err := p.Err(tracker.EInvalid, "invalid single sign-on settings"); err != nil {
		return nil, err
	}
	return &OIDC{cfg: cfg}, nil
}

func (o *OIDC) provider(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.prov != nil {
		return o.prov, nil
	}
	p, err := oidc.NewProvider(ctx, o.cfg.Issuer)
	if err != nil {
		return nil, tracker.Errorf(tracker.EUnavailable, "the identity provider at %s does not answer: %v", o.cfg.Issuer, err)
	}
	o.prov = p
	return p, nil
}

func (o *OIDC) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: o.cfg.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"}}
}

// Start is one sign-in in progress: the state and nonce that must come
// back, and the PKCE verifier that must accompany the code. The caller
// keeps it (in a short-lived cookie) until the callback.
type Start struct {
	State, Nonce, Verifier string
}

// AuthURL begins a sign-in: where to send the browser, and what to keep.
func (o *OIDC) AuthURL(ctx context.Context) (string, Start, error) {
	p, err := o.provider(ctx)
	if err != nil {
		return "", Start{}, err
	}
	st := Start{State: randomString(), Nonce: randomString(), Verifier: oauth2.GenerateVerifier()}
	u := o.oauth(p).AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier))
	return u, st, nil
}

// Identity is who the identity provider says signed in.
type Identity struct {
	Subject string // issuer|sub: unique across providers
	Email   string
	Name    string
	Groups  []string
}

// Exchange finishes a sign-in: the code is exchanged (with the PKCE
// verifier), the ID token verified (signature, issuer, audience, expiry,
// nonce) and its claims read.
func (o *OIDC) Exchange(ctx context.Context, code string, st Start) (Identity, error) {
	p, err := o.provider(ctx)
	if err != nil {
		return Identity{}, err
	}
	tok, err := o.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return Identity{}, tracker.Errorf(tracker.EUnauthorized, "the identity provider refused the sign-in code: %v", err)
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		return Identity{}, tracker.Errorf(tracker.EUnauthorized, "the identity provider sent no ID token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: o.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return Identity{}, tracker.Errorf(tracker.EUnauthorized, "the ID token does not verify: %v", err)
	}
	if idt.Nonce != st.Nonce {
		return Identity{}, tracker.Errorf(tracker.EUnauthorized, "the ID token's nonce does not match this sign-in")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, tracker.Errorf(tracker.EUnauthorized, "the ID token's claims do not parse: %v", err)
	}
	id := Identity{Subject: idt.Issuer + "|" + idt.Subject}
	id.Email, _ = claims["email"].(string)
	if verified, present := claims["email_verified"].(bool); present && !verified {
		id.Email = "" // an unverified email neither names nor links anyone
	}
	for _, k := range []string{"name", "preferred_username"} {
		if v, _ := claims[k].(string); v != "" && id.Name == "" {
			id.Name = v
		}
	}
	if gs, ok := claims[o.cfg.GroupsClaim].([]any); ok {
		for _, g := range gs {
			if s, ok := g.(string); ok {
				id.Groups = append(id.Groups, s)
			}
		}
	}
	return id, nil
}

// roleFor is the highest role the groups map to, and whether any did.
func (o *OIDC) roleFor(groups []string) (tracker.Role, bool) {
	best, found := tracker.Role(""), false
	for _, g := range groups {
		if r, ok := o.cfg.GroupRoles[g]; ok && (!found || slices.Index(tracker.Roles, r) > slices.Index(tracker.Roles, best)) {
			best, found = r, true
		}
	}
	return best, found
}

// SignInOIDC signs in the person an identity provider vouched for: the
// user with that identity; else the user with that (verified) email, who
// gets the identity linked; else a new user with the default role. A
// group mapped to a role sets the role at every sign-in. A deactivated
// user is refused. Successes and failures are audited.
func (s *Service) SignInOIDC(ctx context.Context, o *OIDC, id Identity) (Session, string, error) {
	var u tracker.User
	created := false
	err := s.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		u, err = tx.UserBySubject(ctx, id.Subject)
		if tracker.KindOf(err) == tracker.ENotFound && id.Email != "" {
			u, err = tx.UserByEmail(ctx, id.Email)
			if err == nil {
				if u.Subject != "" && u.Subject != id.Subject {
					return tracker.Errorf(tracker.EConflict, "%s is linked to another single sign-on identity", id.Email)
				}
				u.Subject = id.Subject
			}
		}
		now := s.now()
		switch {
		case tracker.KindOf(err) == tracker.ENotFound:
			if id.Email == "" {
				return tracker.Errorf(tracker.EUnauthorized, "the identity provider gave no verified email to create your user with")
			}
			u = tracker.User{ID: newID(), Email: id.Email, Name: cmp.Or(id.Name, id.Email), Role: o.cfg.DefaultRole, Active: true,
				Subject: id.Subject, CreatedAt: now, UpdatedAt: now}
			if r, ok := o.roleFor(id.Groups); ok {
				u.Role = r
			}
			if err := tracker.ValidateUser(&u); err != nil {
				return err
			}
			created = true
			return tx.CreateUser(ctx, u)
		case err != nil:
			return err
		}
		if !u.Active {
			return tracker.Errorf(tracker.EUnauthorized, "the user %s is deactivated", u.Email)
		}
		if r, ok := o.roleFor(id.Groups); ok {
			u.Role = r
		}
		u.UpdatedAt = now
		return tx.UpdateUser(ctx, u)
	})
	if err != nil {
		s.record(ctx, service.Actor{Name: cmp.Or(id.Email, id.Subject)}, "signin.failure", "", "single sign-on: "+err.Error())
		return Session{}, "", fmt.Errorf("sign in with single sign-on: %w", err)
	}
	a := service.Actor{UserID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role, Origin: tracker.OriginVulnsync}
	if created {
		s.record(ctx, a, "user.create", "user:"+u.ID, fmt.Sprintf("first single sign-on, as %s", u.Role))
	}
	return s.startSession(ctx, a, "", "oidc")
}
