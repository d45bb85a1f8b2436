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
// Profiles (Config.Profile: cloud, dc-9, dc-10) model where real Jira
// versions differ, so that vulnsync is tested against every variant: the
// webhook admin API (/rest/webhooks/1.0/webhook on Cloud and Data Center 9,
// /rest/jira-webhook/1.0/webhooks with configuration.SECRET on Data Center
// 10), signing, identifiers, retries and flow headers of deliveries,
// changelog order and paging, changelog items without fieldId on Data
// Center, transition screens that require a resolution on Data Center,
// Cloud's attachment redirect to a media host, and the serverInfo version.
// On every profile the site has a textarea custom field and a second
// project, OPS, whose priority scheme and screens differ from SEC's.
//
// A control API under /_sim/ injects faults (latency, 5xx, 429 with
// Retry-After, dropped/duplicated/delayed/reordered webhooks) and reads
// counters; it needs no authentication and is deterministic under the seed.
// /_sim/search-lag hides freshly created issues from search (Cloud search
// is eventually consistent) and /_sim/transition-conditions hides
// transitions from some users, as workflow conditions do. POST /_sim/move
// moves an issue to another project as Jira's Move does (same id, new key,
// a changelog with Key and project items, issue_moved), and a Move form on
// /browse/{key} does the same. Both projects share an issue security
// scheme with two levels ("Security only", "Staff only"), and comments may
// be restricted to a role or group (visibility), as on real sites.
package jirasim
