// Package richtext converts between the three rich-text formats vulnsync
// meets: Markdown (what vulnsync stores), the Atlassian Document Format
// (ADF, Jira Cloud REST v3) and Jira wiki markup (Jira Data Center, and
// Cloud REST v2). It covers the constructs vulnsync writes and reads:
// paragraphs, headings, bold, italic, strikethrough, inline code, code
// blocks, links, bullet and numbered lists, block quotes, rules, tables and
// hard line breaks; richer ADF from Jira (mentions, emoji, panels, media,
// cards, task lists) is rendered as the closest sensible Markdown.
//
// ADF is the hub: Markdown and wiki markup are both converted to and from an
// ADF tree, so there are four converters (Markdown→ADF, ADF→Markdown,
// wiki→ADF, ADF→wiki) and the Markdown↔wiki functions are compositions.
// Every tree produced here is passed through one sanitiser that enforces
// ADF's content rules (what may nest in what), so what vulnsync sends to
// Jira Cloud is always accepted; ParseADF applies the same rules to what
// comes in.
//
// Canonical Markdown (what FromADF and FromWiki write): ATX headings
// ("# "), "**bold**", "*italic*", "~~strike~~", "`code`", fenced code blocks
// with a language, "- " bullets, "1. " numbers (indented by the marker
// width when nested), "> " quotes, "---" rules, GFM tables with a
// "| --- |" separator row, "\" + newline for hard breaks ("<br>" inside
// table cells), "[text](url)" links and "<url>" when the text is the URL.
// Blocks are separated by one blank line and there is no trailing newline.
// A soft line break (a plain newline inside a Markdown paragraph) is a space,
// as CommonMark renders it.
package richtext

import (
	"encoding/json"
	"errors"
)

// Node is one node of an ADF document. A document is a Node of type "doc"
// with Version 1. The Jira client sends and receives it as JSON; the Jira
// simulator stores it.
type Node struct {
	Type    string         `json:"type"`
	Version int            `json:"version,omitempty"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []*Node        `json:"content,omitempty"`
	Text    string         `json:"text,omitempty"`
	Marks   []Mark         `json:"marks,omitempty"`
}

// Mark is an ADF text mark (strong, em, code, link, ...): formatting that
// applies to a run of text rather than a block.
type Mark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Limits on what ParseADF accepts, so that a hostile or broken document
// cannot exhaust memory or the stack of whoever parses it.
const (
	// MaxADFBytes is the largest JSON document ParseADF accepts. Jira caps a
	// rich-text field at 32,767 characters of text; an ADF document holding
	// that much text, with its markup, stays well below a mebibyte.
	MaxADFBytes = 1 << 20
	// MaxDepth is the deepest nesting of ADF nodes ParseADF and Validate
	// accept (the doc node is depth 1). The converters never produce deeper
	// trees: lists nested more than maxListDepth levels are flattened.
	MaxDepth = 64
)

// ErrInvalidADF is wrapped by every error ParseADF and Validate return, so
// that callers can tell "the document is bad" (a 400 for the Jira simulator,
// a permanent failure for the sync) from other failures with errors.Is.
var ErrInvalidADF = errors.New("invalid ADF document")

// ToADF converts Markdown to an ADF document (type "doc", version 1) that
// satisfies Validate. It never fails: anything Markdown can say that ADF
// cannot is converted to the closest thing ADF allows.
func ToADF(markdown string) *Node { return markdownToADF(markdown) }

// FromADF converts an ADF document to canonical Markdown (see the package
// documentation). Nodes it does not know are rendered through their
// children or skipped; a nil document gives "".
func FromADF(doc *Node) string { return adfToMarkdown(doc) }

// ToWiki converts Markdown to Jira wiki markup, for Jira Data Center and the
// Cloud REST v2 API.
func ToWiki(markdown string) string { return ADFToWiki(ToADF(markdown)) }

// FromWiki converts Jira wiki markup to canonical Markdown.
func FromWiki(wiki string) string { return FromADF(WikiToADF(wiki)) }

// WikiToADF converts Jira wiki markup to an ADF document that satisfies
// Validate; the Jira simulator uses it to serve v3 (ADF) reads of content
// written through v2 (wiki).
func WikiToADF(wiki string) *Node { return wikiToADF(wiki) }

// ADFToWiki converts an ADF document to Jira wiki markup; the Jira simulator
// uses it to serve v2 (wiki) reads of content written through v3 (ADF).
func ADFToWiki(doc *Node) string { return adfToWiki(doc) }

// ParseADF decodes raw JSON as an ADF document and checks that it is one
// (type "doc", version 1, known node and mark types, ADF's nesting rules and
// required attributes); Jira Cloud's v3 API refuses anything else in
// rich-text fields. The error wraps ErrInvalidADF and names the offending
// node by its path, e.g. `content[2].content[0]`.
func ParseADF(raw json.RawMessage) (*Node, error) { return parseADF(raw) }
