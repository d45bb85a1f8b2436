package jirasync

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vulnsync/vulnsync/internal/jira"
	"github.com/vulnsync/vulnsync/internal/service"
	"github.com/vulnsync/vulnsync/internal/tracker"
)

// Triage from Jira (issue 16): an engineer's comment
//
//	/vulnsync accept <reason> [until YYYY-MM-DD]
//	/vulnsync false-positive <reason> [until YYYY-MM-DD]
//
// opens the corresponding pending acceptance in vulnsync (an admin still
// approves it), and vulnsync answers in a comment on the issue: the
// request's own comment when it is opened, else why not. The expiry is
// the date given (a malformed, past or too distant one is refused, with
// why), else jiraAcceptanceDays from now.
//
// Once only: the command runs where its comment is first mirrored, in the
// transaction that records the comment's link (a redelivery, or the same
// comment found by reconciliation, is "already mirrored"); the answer is an
// item comment written in that transaction, which the push posts to Jira
// like any vulnsync comment. No echo: the answer is vulnsync's own comment
// (its link marks it ours when its webhook comes back), comments by the
// service account never run commands, and the answer does not start with
// the command prefix.

// commandPrefix starts a command comment.
const commandPrefix = "/vulnsync"

// command is a parsed command comment.
type command struct {
	verb   string
	status tracker.Status
	reason string
	// until is the expiry the first line proposes ("… until 2027-03-31",
	// the day's start in UTC); zero when none. badUntil is what followed
	// a final "until" that looked like a date (it starts with a digit)
	// but is not one written YYYY-MM-DD: the request is refused, saying
	// so, rather than opened with another expiry than meant.
	until    time.Time
	badUntil string
}

// untilLayout is how a proposed expiry is written.
const untilLayout = "2006-01-02"

// parseCommand reads a command from a comment's first line (Markdown may
// escape the slash). ok is false for an ordinary comment.
func parseCommand(body string) (cmd command, ok bool) {
	line, rest, _ := strings.Cut(strings.TrimSpace(body), "\n")
	line = strings.TrimPrefix(strings.TrimSpace(line), `\`)
	fields := strings.Fields(line)
	if len(fields) == 0 || !strings.EqualFold(fields[0], commandPrefix) {
		return command{}, false
	}
	if len(fields) > 1 {
		cmd.verb = strings.ToLower(fields[1])
	}
	switch cmd.verb {
	case "accept":
		cmd.status = tracker.StatusAcceptedRisk
	case "false-positive", "fp":
		cmd.status = tracker.StatusFalsePositive
	}
	words := []string{}
	if len(fields) > 2 {
		words = fields[2:]
	}
	// "… until YYYY-MM-DD" at the end of the line proposes the expiry;
	// "until" before words ("until the migration") stays in the reason.
	if n := len(words); n >= 2 && strings.EqualFold(words[n-2], "until") && words[n-1][0] >= '0' && words[n-1][0] <= '9' {
		if d, err := time.Parse(untilLayout, words[n-1]); err == nil {
			cmd.until = d
		} else {
			cmd.badUntil = words[n-1]
		}
		words = words[:n-2]
	}
	reason := strings.Join(words, " ")
	cmd.reason = strings.TrimSpace(reason + "\n" + strings.TrimSpace(rest))
	return cmd, true
}

// triage runs a command comment and answers it on the item (and so in
// Jira). Refusals are answered too: the engineer sees why.
func (r *run) triage(ctx context.Context, s *snapshot, c *jira.Comment) error {
	cmd, ok := parseCommand(c.Body)
	if !ok || r.isServiceAccount(c.Author) {
		return nil
	}
	who := firstNonEmpty(c.Author.DisplayName, c.Author.Name, "someone")
	var answer string
	switch {
	case cmd.status == "":
		answer = fmt.Sprintf("vulnsync: %s, I do not know the command %q. Write `%s accept <reason>` or `%s false-positive <reason>`.",
			who, strings.TrimSpace(commandPrefix+" "+cmd.verb), commandPrefix, commandPrefix)
	case cmd.badUntil != "":
		answer = fmt.Sprintf("vulnsync: %s, your request was not opened: the expiry %s is not a date written YYYY-MM-DD, like %s.",
			who, cmd.badUntil, r.e.now().UTC().AddDate(0, 0, 90).Format(untilLayout))
	case !cmd.until.IsZero() && !cmd.until.After(r.e.now()):
		answer = fmt.Sprintf("vulnsync: %s, your request was not opened: the expiry %s is not in the future; give a date after %s.",
			who, cmd.until.Format(untilLayout), r.e.now().UTC().Format(untilLayout))
	case !cmd.until.IsZero() && cmd.until.Sub(r.e.now()) > time.Duration(r.e.cfg.Tracker.MaxAcceptanceDays())*24*time.Hour:
		days := r.e.cfg.Tracker.MaxAcceptanceDays()
		answer = fmt.Sprintf("vulnsync: %s, your request was not opened: the expiry %s is more than %d days ahead; give a date up to %s.",
			who, cmd.until.Format(untilLayout), days, r.e.now().UTC().AddDate(0, 0, days).Format(untilLayout))
	default:
		expires := cmd.until
		if expires.IsZero() {
			expires = r.defaultExpiry()
		}
		req := tracker.AcceptanceRequest{Status: cmd.status, Reason: cmd.reason, ExpiresAt: expires}
		_, err := r.e.cfg.Tracker.RequestAcceptance(ctx, jiraActor(c.Author), s.item.ID, req)
		switch {
		case err == nil:
			return nil // the request's own comment ("… requested by …, awaiting an admin's approval") is the answer
		case tracker.KindOf(err) == tracker.EInvalid || tracker.KindOf(err) == tracker.EConflict:
			answer = fmt.Sprintf("vulnsync: %s, your request was not opened: %s.", who, explainRefusal(err))
		default:
			return err
		}
	}
	_, err := r.e.cfg.Tracker.AddComment(ctx, service.System, s.item.ID, answer)
	return err
}

// explainRefusal says in one sentence why a request was refused.
func explainRefusal(err error) string {
	var te *tracker.Error
	if !errors.As(err, &te) {
		return err.Error()
	}
	if msg := te.Fields["reason"]; msg != "" {
		if strings.HasPrefix(msg, "must not be empty") {
			return "give a reason after the command"
		}
		return "the reason " + msg // too long, or a control character
	}
	parts := []string{te.Message}
	for k, v := range te.Fields {
		parts = append(parts, k+" "+v)
	}
	return strings.Join(parts, "; ")
}
