package richtext

// maxListDepth is how deep the converters nest lists; deeper items are
// flattened into their ancestor at this depth so that no tree they produce
// exceeds MaxDepth (Jira's own editor stops far earlier).
const maxListDepth = 16

// sanitizeDoc rewrites a tree built by a converter so that it follows ADF's
// content rules, which are stricter than Markdown's or wiki markup's: no
// heading, table, rule or nested quote inside a quote or a list item, a list
// item starting with a paragraph, no empty containers. What ADF cannot hold
// is converted to the nearest thing it can (a heading becomes a bold
// paragraph, a table a paragraph per row, a nested quote its content).
func sanitizeDoc(doc *Node) *Node {
	doc.Content = sanitizeChildren(doc.Content, "doc", 0)
	return doc
}

func sanitizeChildren(kids []*Node, parent string, listDepth int) []*Node {
	spec := nodeSpecs[parent]
	var out []*Node
	for _, k := range kids {
		if k == nil {
			continue
		}
		out = append(out, sanitizeNode(k, parent, spec, listDepth)...)
	}
	switch parent {
	case "listItem":
		if len(out) == 0 || (out[0].Type != "paragraph" && out[0].Type != "codeBlock" && out[0].Type != "mediaSingle") {
			out = append([]*Node{{Type: "paragraph"}}, out...)
		}
	case "tableCell", "tableHeader":
		if len(out) == 0 {
			out = []*Node{{Type: "paragraph"}}
		}
	}
	return out
}

func sanitizeNode(n *Node, parent string, pspec *nodeSpec, listDepth int) []*Node {
	if pspec.children[n.Type] {
		switch n.Type {
		case "bulletList", "orderedList":
			if parent == "listItem" && listDepth >= maxListDepth {
				var flat []*Node
				for _, item := range n.Content {
					if item != nil {
						flat = append(flat, sanitizeChildren(item.Content, "listItem", listDepth)...)
					}
				}
				return flat
			}
			var items []*Node
			for _, item := range n.Content {
				if item == nil || item.Type != "listItem" {
					continue
				}
				item.Content = sanitizeChildren(item.Content, "listItem", listDepth+1)
				if emptyItem(item) {
					// An empty bullet says nothing, and Markdown parsers
					// disagree on what follows one.
					continue
				}
				items = append(items, item)
			}
			if len(items) == 0 {
				return nil
			}
			n.Content = items
		case "blockquote", "panel":
			n.Content = sanitizeChildren(n.Content, n.Type, listDepth)
			if len(n.Content) == 0 {
				return nil
			}
		case "table":
			var rows []*Node
			for _, row := range n.Content {
				if row == nil || row.Type != "tableRow" {
					continue
				}
				var cells []*Node
				for _, cell := range row.Content {
					if cell == nil || (cell.Type != "tableCell" && cell.Type != "tableHeader") {
						continue
					}
					cell.Content = sanitizeChildren(cell.Content, cell.Type, listDepth)
					cells = append(cells, cell)
				}
				if len(cells) > 0 {
					row.Content = cells
					rows = append(rows, row)
				}
			}
			if len(rows) == 0 {
				return nil
			}
			n.Content = rows
		}
		return []*Node{n}
	}
	switch n.Type {
	case "heading":
		rs := runsFromADF(nil, n.Content, 0)
		for i := range rs {
			if rs[i].isText() && rs[i].marks&mCode == 0 {
				rs[i].marks |= mStrong
			}
		}
		return sanitizeNode(&Node{Type: "paragraph", Content: runsToADF(rs)}, parent, pspec, listDepth)
	case "blockquote", "panel":
		return sanitizeChildren(n.Content, parent, listDepth)
	case "table":
		var out []*Node
		for _, row := range n.Content {
			if row == nil {
				continue
			}
			var rs []run
			for j, cell := range row.Content {
				if cell == nil {
					continue
				}
				if j > 0 {
					rs = append(rs, run{text: " | "})
				}
				rs = append(rs, blockRuns(cell.Content, 0)...)
			}
			if p := runsToADF(rs); len(p) > 0 {
				out = append(out, sanitizeNode(&Node{Type: "paragraph", Content: p}, parent, pspec, listDepth)...)
			}
		}
		return out
	}
	return nil
}

// blockRuns flattens blocks into one line of inline runs, blocks separated
// by a break; used where only inline content fits (a table cell in
// Markdown, a table inside a list item in ADF).
func blockRuns(blocks []*Node, depth int) []run {
	var rs []run
	if depth > renderDepthLimit {
		return rs
	}
	for _, b := range blocks {
		if b == nil {
			continue
		}
		var part []run
		switch b.Type {
		case "codeBlock":
			for _, t := range b.Content {
				if t != nil {
					part = textRuns(part, t.Text, mCode, "")
				}
			}
		case "paragraph", "heading", "taskItem", "decisionItem", "caption":
			part = runsFromADF(nil, b.Content, depth+1)
		case "rule":
			continue
		default:
			if text, href := atomText(b); text != "" {
				part = textRuns(part, text, 0, href)
			} else {
				part = blockRuns(b.Content, depth+1)
			}
		}
		part = normalizeRuns(part)
		if len(part) == 0 {
			continue
		}
		if len(rs) > 0 {
			rs = append(rs, run{brk: true})
		}
		rs = append(rs, part...)
	}
	return rs
}

func emptyItem(item *Node) bool {
	for _, c := range item.Content {
		if c.Type != "paragraph" || len(c.Content) > 0 {
			return false
		}
	}
	return true
}
