package richtext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// This file holds ADF's schema as vulnsync enforces it: which node and mark
// types exist, what each node may contain and which attributes it needs. It
// follows Atlassian's published ADF schema (the adf-utils validator specs),
// strict where Jira answers 400 (unknown types, a non-doc root, blocks where
// inline content belongs, lists or tables holding anything but their items
// or rows) and lenient on optional attributes.

// content kinds of a node type.
const (
	holdsNothing  = iota // a leaf: no content allowed
	holdsInline          // inline nodes (text, hardBreak, mention, ...)
	holdsText            // text nodes without marks (codeBlock)
	holdsChildren        // exactly the types in spec.children
)

type nodeSpec struct {
	holds    int
	children map[string]bool // for holdsChildren
	minItems int
	inline   bool // the node itself is inline
	// firstNot lists child types that may not come first (listItem).
	firstNot map[string]bool
	attrs    func(a map[string]any) string
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

var (
	topBlocks = set("paragraph", "heading", "bulletList", "orderedList", "codeBlock",
		"blockquote", "rule", "panel", "table", "mediaSingle", "mediaGroup", "expand",
		"taskList", "decisionList", "layoutSection", "blockCard", "embedCard",
		"extension", "bodiedExtension", "multiBodiedExtension")
	nestedBlocks = set("paragraph", "heading", "bulletList", "orderedList", "codeBlock",
		"blockquote", "rule", "panel", "table", "mediaSingle", "mediaGroup", "nestedExpand",
		"taskList", "decisionList", "blockCard", "embedCard", "extension", "bodiedExtension")
	listItemBlocks   = set("paragraph", "bulletList", "orderedList", "codeBlock", "mediaSingle", "taskList")
	blockquoteBlocks = set("paragraph", "bulletList", "orderedList", "codeBlock", "mediaGroup", "mediaSingle", "extension")
	panelBlocks      = set("paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockCard",
		"mediaGroup", "mediaSingle", "taskList", "decisionList", "rule", "extension")
	cellBlocks = set("paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote",
		"panel", "rule", "mediaGroup", "mediaSingle", "decisionList", "taskList", "blockCard",
		"embedCard", "extension", "nestedExpand")
	nestedExpandBlocks = set("paragraph", "heading", "bulletList", "orderedList", "codeBlock",
		"mediaGroup", "mediaSingle", "decisionList", "taskList", "rule", "panel", "blockquote")
)

// nodeSpecs is ADF's node vocabulary. A type missing here is refused.
var nodeSpecs = map[string]*nodeSpec{
	"doc":                  {holds: holdsChildren, children: topBlocks},
	"paragraph":            {holds: holdsInline},
	"heading":              {holds: holdsInline, attrs: headingAttrs},
	"bulletList":           {holds: holdsChildren, children: set("listItem"), minItems: 1},
	"orderedList":          {holds: holdsChildren, children: set("listItem"), minItems: 1, attrs: orderedListAttrs},
	"listItem":             {holds: holdsChildren, children: listItemBlocks, minItems: 1, firstNot: set("bulletList", "orderedList")},
	"codeBlock":            {holds: holdsText, attrs: optionalString("language")},
	"blockquote":           {holds: holdsChildren, children: blockquoteBlocks, minItems: 1},
	"rule":                 {holds: holdsNothing},
	"panel":                {holds: holdsChildren, children: panelBlocks, minItems: 1, attrs: panelAttrs},
	"table":                {holds: holdsChildren, children: set("tableRow"), minItems: 1},
	"tableRow":             {holds: holdsChildren, children: set("tableCell", "tableHeader")},
	"tableCell":            {holds: holdsChildren, children: cellBlocks, minItems: 1},
	"tableHeader":          {holds: holdsChildren, children: cellBlocks, minItems: 1},
	"mediaSingle":          {holds: holdsChildren, children: set("media", "caption"), minItems: 1, firstNot: set("caption")},
	"mediaGroup":           {holds: holdsChildren, children: set("media"), minItems: 1},
	"media":                {holds: holdsNothing, attrs: mediaAttrs},
	"caption":              {holds: holdsInline},
	"expand":               {holds: holdsChildren, children: nestedBlocks, minItems: 1},
	"nestedExpand":         {holds: holdsChildren, children: nestedExpandBlocks, minItems: 1},
	"taskList":             {holds: holdsChildren, children: set("taskItem", "taskList", "blockTaskItem"), minItems: 1},
	"taskItem":             {holds: holdsInline},
	"blockTaskItem":        {holds: holdsChildren, children: set("paragraph", "extension")},
	"decisionList":         {holds: holdsChildren, children: set("decisionItem"), minItems: 1},
	"decisionItem":         {holds: holdsInline},
	"layoutSection":        {holds: holdsChildren, children: set("layoutColumn"), minItems: 1},
	"layoutColumn":         {holds: holdsChildren, children: nestedBlocks, minItems: 1},
	"blockCard":            {holds: holdsNothing, attrs: cardAttrs},
	"embedCard":            {holds: holdsNothing, attrs: requiredString("url")},
	"extension":            {holds: holdsNothing, attrs: extensionAttrs},
	"bodiedExtension":      {holds: holdsChildren, children: nestedBlocks, minItems: 1, attrs: extensionAttrs},
	"multiBodiedExtension": {holds: holdsChildren, children: set("extensionFrame"), attrs: extensionAttrs},
	"extensionFrame":       {holds: holdsChildren, children: nestedBlocks, minItems: 1},

	"text":            {holds: holdsNothing, inline: true},
	"hardBreak":       {holds: holdsNothing, inline: true},
	"mention":         {holds: holdsNothing, inline: true, attrs: requiredString("id")},
	"emoji":           {holds: holdsNothing, inline: true, attrs: requiredString("shortName")},
	"date":            {holds: holdsNothing, inline: true, attrs: requiredString("timestamp")},
	"status":          {holds: holdsNothing, inline: true, attrs: statusAttrs},
	"inlineCard":      {holds: holdsNothing, inline: true, attrs: cardAttrs},
	"mediaInline":     {holds: holdsNothing, inline: true},
	"placeholder":     {holds: holdsNothing, inline: true, attrs: requiredString("text")},
	"inlineExtension": {holds: holdsNothing, inline: true, attrs: extensionAttrs},
}

// textMarks may be put on text nodes; blockMarks on other nodes.
var (
	textMarks  = set("strong", "em", "strike", "underline", "code", "link", "subsup", "textColor", "backgroundColor", "annotation")
	codeMarks  = set("code", "link", "annotation")
	blockMarks = set("alignment", "indentation", "breakout", "link", "annotation", "border", "fragment", "dataConsumer")
)

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// markAttrs checks a mark's attributes; a mark type missing here and in
// textMarks/blockMarks is refused.
func markAttrs(m Mark) string {
	a := m.Attrs
	switch m.Type {
	case "link":
		if msg := requiredString("href")(a); msg != "" {
			return msg
		}
		if h, _ := a["href"].(string); !safeHref(h) {
			return "link href uses a refused URL scheme (javascript, vbscript or data)"
		}
	case "textColor":
		c, ok := a["color"].(string)
		if !ok || !hexColor.MatchString(c) {
			return `textColor needs attrs.color like "#ff5630"`
		}
	case "backgroundColor":
		return requiredString("color")(a)
	case "subsup":
		if t, _ := a["type"].(string); t != "sub" && t != "sup" {
			return `subsup needs attrs.type "sub" or "sup"`
		}
	case "alignment":
		if v, _ := a["align"].(string); v != "start" && v != "center" && v != "end" {
			return `alignment needs attrs.align "start", "center" or "end"`
		}
	case "indentation":
		if n, ok := intAttr(a["level"]); !ok || n < 1 || n > 6 {
			return "indentation needs attrs.level between 1 and 6"
		}
	case "annotation":
		return requiredString("id")(a)
	}
	return ""
}

func headingAttrs(a map[string]any) string {
	if n, ok := intAttr(a["level"]); !ok || n < 1 || n > 6 {
		return "heading needs attrs.level, an integer between 1 and 6"
	}
	return ""
}

func orderedListAttrs(a map[string]any) string {
	v, present := a["order"]
	if !present || v == nil {
		return ""
	}
	if f, ok := numberAttr(v); !ok || f < 0 {
		return "orderedList attrs.order must be a number >= 0"
	}
	return ""
}

func panelAttrs(a map[string]any) string {
	switch t, _ := a["panelType"].(string); t {
	case "info", "note", "tip", "warning", "error", "success", "custom":
		return ""
	}
	return `panel needs attrs.panelType ("info", "note", "tip", "warning", "error", "success" or "custom")`
}

func mediaAttrs(a map[string]any) string {
	switch t, _ := a["type"].(string); t {
	case "file", "link":
		if id, _ := a["id"].(string); id == "" {
			return "media of type " + t + " needs attrs.id"
		}
		if _, ok := a["collection"].(string); !ok {
			return "media of type " + t + " needs attrs.collection"
		}
	case "external":
		if _, ok := a["url"].(string); !ok {
			return "external media needs attrs.url"
		}
	default:
		return `media needs attrs.type "file", "link" or "external"`
	}
	return ""
}

func cardAttrs(a map[string]any) string {
	if _, ok := a["url"].(string); ok {
		return ""
	}
	if _, ok := a["data"].(map[string]any); ok {
		return ""
	}
	return "card needs attrs.url or attrs.data"
}

func statusAttrs(a map[string]any) string {
	if msg := requiredString("text")(a); msg != "" {
		return msg
	}
	return requiredString("color")(a)
}

func extensionAttrs(a map[string]any) string {
	if msg := requiredString("extensionType")(a); msg != "" {
		return msg
	}
	return requiredString("extensionKey")(a)
}

func requiredString(name string) func(map[string]any) string {
	return func(a map[string]any) string {
		if _, ok := a[name].(string); !ok {
			return "needs attrs." + name + " (a string)"
		}
		return ""
	}
}

func optionalString(name string) func(map[string]any) string {
	return func(a map[string]any) string {
		if v, present := a[name]; present && v != nil {
			if _, ok := v.(string); !ok {
				return "attrs." + name + " must be a string"
			}
		}
		return ""
	}
}

// numberAttr reads a JSON number whether it came from encoding/json
// (float64), from Go code (int) or from a decoder using json.Number.
func numberAttr(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// intAttr reads an integral JSON number.
func intAttr(v any) (int, bool) {
	f, ok := numberAttr(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
		return 0, false
	}
	return int(f), true
}

// path locates a node for error messages without allocating on the happy
// path: it is rendered only when something is wrong.
type path struct {
	parent *path
	index  int
}

func (p *path) String() string {
	if p == nil {
		return "doc"
	}
	var parts []string
	for q := p; q != nil; q = q.parent {
		parts = append(parts, "content["+strconv.Itoa(q.index)+"]")
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ".")
}

func invalid(p *path, typ, format string, args ...any) error {
	where := p.String()
	if typ != "" {
		where += " (" + typ + ")"
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalidADF, where, fmt.Sprintf(format, args...))
}

// Validate checks that n is a complete ADF document: a "doc" of version 1
// whose nodes are known ADF types nested as ADF allows, with the attributes
// Jira requires. The Jira client calls it before sending a document, the
// simulator on every document it receives.
func (n *Node) Validate() error {
	if n == nil {
		return fmt.Errorf("%w: no document", ErrInvalidADF)
	}
	if n.Type != "doc" {
		return fmt.Errorf("%w: the root node must be of type \"doc\", got %q", ErrInvalidADF, n.Type)
	}
	if n.Version != 1 {
		return fmt.Errorf("%w: unsupported ADF version %d (only version 1 exists)", ErrInvalidADF, n.Version)
	}
	return validateNode(n, nil, 1)
}

func validateNode(n *Node, p *path, depth int) error {
	if depth > MaxDepth {
		return invalid(p, n.Type, "nested more than %d levels deep", MaxDepth)
	}
	spec, ok := nodeSpecs[n.Type]
	switch {
	case n.Type == "":
		return invalid(p, "", "node has no type")
	case !ok:
		return invalid(p, "", "unknown node type %q", n.Type)
	case n.Type == "doc" && p != nil:
		return invalid(p, n.Type, "a doc node may only be the root")
	}
	if n.Type != "text" && n.Text != "" {
		return invalid(p, n.Type, "only text nodes carry text")
	}
	if spec.attrs != nil {
		if msg := spec.attrs(n.Attrs); msg != "" {
			return invalid(p, n.Type, "%s", msg)
		}
	}
	if err := validateMarks(n, p); err != nil {
		return err
	}
	if n.Type == "text" && n.Text == "" {
		return invalid(p, n.Type, "text nodes need non-empty text")
	}
	if spec.holds == holdsNothing {
		if len(n.Content) > 0 {
			return invalid(p, n.Type, "%s nodes have no content", n.Type)
		}
		return nil
	}
	if len(n.Content) < spec.minItems {
		return invalid(p, n.Type, "%s needs at least %d child node(s)", n.Type, spec.minItems)
	}
	for i, c := range n.Content {
		cp := &path{parent: p, index: i}
		if c == nil {
			return invalid(cp, "", "null node")
		}
		cspec, known := nodeSpecs[c.Type]
		if !known {
			// Reported by the recursive call with the right message.
			if err := validateNode(c, cp, depth+1); err != nil {
				return err
			}
		}
		switch spec.holds {
		case holdsInline:
			if !cspec.inline {
				return invalid(cp, c.Type, "%s is a block node; %s may only hold inline nodes", c.Type, n.Type)
			}
		case holdsText:
			if c.Type != "text" {
				return invalid(cp, c.Type, "%s may only hold text nodes", n.Type)
			}
			if len(c.Marks) > 0 {
				return invalid(cp, c.Type, "text in a %s carries no marks", n.Type)
			}
		case holdsChildren:
			if !spec.children[c.Type] {
				return invalid(cp, c.Type, "%s may not hold a %s node", n.Type, c.Type)
			}
			if i == 0 && spec.firstNot[c.Type] {
				return invalid(cp, c.Type, "%s may not start with a %s node", n.Type, c.Type)
			}
		}
		if err := validateNode(c, cp, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func validateMarks(n *Node, p *path) error {
	if len(n.Marks) == 0 {
		return nil
	}
	allowed := blockMarks
	if n.Type == "text" {
		allowed = textMarks
		for _, m := range n.Marks {
			if m.Type == "code" {
				allowed = codeMarks
			}
		}
	}
	seen := make(map[string]bool, len(n.Marks))
	for _, m := range n.Marks {
		if !textMarks[m.Type] && !blockMarks[m.Type] {
			if m.Type == "" {
				return invalid(p, n.Type, "mark has no type")
			}
			return invalid(p, n.Type, "unknown mark type %q", m.Type)
		}
		if !allowed[m.Type] {
			if n.Type == "text" && textMarks[m.Type] {
				return invalid(p, n.Type, "a code mark combines only with link, not %s", m.Type)
			}
			return invalid(p, n.Type, "mark %s is not allowed on %s nodes", m.Type, n.Type)
		}
		if seen[m.Type] {
			return invalid(p, n.Type, "mark %s appears twice", m.Type)
		}
		seen[m.Type] = true
		if msg := markAttrs(m); msg != "" {
			return invalid(p, n.Type, "%s", msg)
		}
	}
	return nil
}

// wireDoc is the top level of an ADF document as it arrives, with pointers
// so that a missing version or content can be told from a zero one.
type wireDoc struct {
	Type    string         `json:"type"`
	Version *float64       `json:"version"`
	Attrs   map[string]any `json:"attrs"`
	Content *[]*Node       `json:"content"`
	Text    string         `json:"text"`
	Marks   []Mark         `json:"marks"`
}

func parseADF(raw json.RawMessage) (*Node, error) {
	if len(raw) > MaxADFBytes {
		return nil, fmt.Errorf("parse ADF: %w: document is %d bytes, more than the %d allowed", ErrInvalidADF, len(raw), MaxADFBytes)
	}
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("parse ADF: %w: empty input", ErrInvalidADF)
	}
	if trimmed[0] != '{' {
		return nil, fmt.Errorf("parse ADF: %w: an ADF document is a JSON object, got a JSON %s", ErrInvalidADF, jsonKind(trimmed[0]))
	}
	var w wireDoc
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return nil, fmt.Errorf("parse ADF: %w: %v", ErrInvalidADF, err)
	}
	if w.Type != "doc" {
		return nil, fmt.Errorf("parse ADF: %w: the root node must be of type \"doc\", got %q", ErrInvalidADF, w.Type)
	}
	if w.Version == nil {
		return nil, fmt.Errorf("parse ADF: %w: the doc node has no version (want 1)", ErrInvalidADF)
	}
	if *w.Version != 1 {
		return nil, fmt.Errorf("parse ADF: %w: unsupported ADF version %v (only version 1 exists)", ErrInvalidADF, *w.Version)
	}
	if w.Content == nil {
		return nil, fmt.Errorf("parse ADF: %w: the doc node has no content array", ErrInvalidADF)
	}
	doc := &Node{Type: "doc", Version: 1, Attrs: w.Attrs, Content: *w.Content, Text: w.Text, Marks: w.Marks}
	if err := doc.Validate(); err != nil {
		return nil, fmt.Errorf("parse ADF: %w", err)
	}
	return doc, nil
}

func jsonKind(first byte) string {
	switch first {
	case '"':
		return "string"
	case '[':
		return "array"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// nodeJSON has Node's fields without its methods, so that MarshalJSON can
// delegate to the default encoding.
type nodeJSON Node

// docJSON always writes content: ADF requires the array on the doc node,
// even when the document is empty.
type docJSON struct {
	Type    string         `json:"type"`
	Version int            `json:"version"`
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []*Node        `json:"content"`
}

// MarshalJSON encodes n as ADF. It exists so that an empty document is
// written as {"type":"doc","version":1,"content":[]}, which Jira accepts,
// rather than dropping the required content array.
func (n Node) MarshalJSON() ([]byte, error) {
	if n.Type == "doc" {
		content := n.Content
		if content == nil {
			content = []*Node{}
		}
		return json.Marshal(docJSON{Type: n.Type, Version: n.Version, Attrs: n.Attrs, Content: content})
	}
	return json.Marshal(nodeJSON(n))
}
