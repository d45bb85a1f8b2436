// Package jirasim is an in-memory stand-in for Jira Cloud and Jira Data
// Center that behaves like the real products on everything vulnsync uses:
// REST paths, payload shapes, error bodies and status codes, workflow rules,
// JQL, admin webhooks (payloads, signatures, retries) and rate limiting.
//
// It exists because vulnsync's reason to exist is two-way sync with Jira,
// and no test, demo or benchmark can depend on a real Jira site. Its fidelity
// is held against Atlassian's OpenAPI document and against payloads recorded
// from real sites (see ../shared/jira), not against what its authors believe
// Jira does.
//
// A control API under /_sim/ injects faults (latency, 5xx, 429 with
// Retry-After, dropped/duplicated/delayed/reordered webhooks) and reads
// counters; it needs no authentication and is deterministic under the seed.
package jirasim
