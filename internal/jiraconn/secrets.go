package jiraconn

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/store"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// CheckSecrets makes sure, at start, that the vault's key opens the
// secrets sealed in the store. When secret.key is lost (or
// VULNSYNC_SECRET_KEY changed), a new key is generated silently and every
// stored Jira credential and webhook secret becomes unreadable: without
// this check vulnsync would start and answer every webhook with 500. It
// refuses to start instead, saying what happened and what to do. With
// reset (vulnsync serve --reset-secrets) the secrets that do not open are
// discarded, knowingly: those connections need new credentials (PATCH
// /api/v1/jira/connections/{id}) and a rotated webhook secret.
func (r *Registry) CheckSecrets(ctx context.Context, reset bool) (discarded []string, err error) {
	var conns []store.Connection
	if err := r.st.View(ctx, func(tx store.Tx) error {
		conns, err = tx.ListConnections(ctx)
		return err
	}); err != nil {
		return nil, fmt.Errorf("check the stored secrets: %w", err)
	}
	var bad []store.Connection
	for _, c := range conns {
		if !r.opens(c) {
			bad = append(bad, c)
		}
	}
	if len(bad) == 0 {
		return nil, nil
	}
	names := make([]string, len(bad))
	for i, c := range bad {
		names[i] = fmt.Sprintf("%q", c.Name)
	}
	if !reset {
		return nil, tracker.Errorf(tracker.EInvalid, "the secret key does not open the Jira credentials stored for %d connection(s) (%s): "+
			"secret.key in the data directory was lost or replaced, or VULNSYNC_SECRET_KEY changed. Restore the key that was used; "+
			"or start once with --reset-secrets to discard those credentials, then give each connection new ones and rotate its webhook secret",
			len(bad), strings.Join(names, ", "))
	}
	err = r.st.InTx(ctx, func(tx store.Tx) error {
		for _, c := range bad {
			cur, err := tx.GetConnection(ctx, c.ID)
			if err != nil {
				return err
			}
			if !r.opens(cur) {
				cur.SealedSecret, cur.SealedWebhookSecret = "", ""
				cur.UpdatedAt = time.Now().UTC()
				if err := tx.UpdateConnection(ctx, cur); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("discard the secrets the key does not open: %w", err)
	}
	for _, c := range bad {
		r.Forget(c.ID)
		r.ForgetSecret(c.ID)
		r.log.Warn("discarded the Jira credentials and webhook secret the key does not open (--reset-secrets)", "connection", c.ID, "name", c.Name)
	}
	return names, nil
}

// opens reports whether every secret sealed on c opens with the vault's key
// (an absent one counts as opening: there is nothing to lose).
func (r *Registry) opens(c store.Connection) bool {
	if c.SealedSecret != "" {
		if _, err := r.cfg.Vault.Open(c.SealedSecret, "connection:"+c.ID); err != nil {
			return false
		}
	}
	if c.SealedWebhookSecret != "" {
		if _, err := r.cfg.Vault.Open(c.SealedWebhookSecret, "webhook:"+c.ID); err != nil {
			return false
		}
	}
	return true
}
