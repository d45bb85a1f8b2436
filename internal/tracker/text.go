package tracker

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
)

// TextLen counts a text as Jira does: Jira is a Java application, and its
// limits (255 for a summary, 32,767 for a comment or a text field) are on
// the length of a Java string, that is UTF-16 code units. A Japanese
// character counts 1 (it is 3 bytes in UTF-8), an emoji outside the Basic
// Multilingual Plane counts 2. Counting bytes refused text Jira accepts.
func TextLen(s string) int {
	n := 0
	for _, r := range s {
		if w := utf16.RuneLen(r); w > 0 {
			n += w
		} else {
			n++ // an invalid byte becomes U+FFFD, one unit
		}
	}
	return n
}

// FitText returns s cut to at most max units (TextLen) on a character
// boundary, with marker appended inside the limit; cut reports whether
// anything was removed. It is for text that comes from Jira and is valid
// there but longer here once converted (ADF to Markdown adds syntax): it is
// kept, shortened and marked, rather than refused, because refusing would
// block every later change of the issue behind it.
func FitText(s string, max int, marker string) (out string, cut bool) {
	if TextLen(s) <= max {
		return s, false
	}
	budget := max - TextLen(marker)
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > budget {
			return s[:i] + marker, true
		}
		n += w
	}
	return s + marker, true
}

// BadControl returns the first control character in s that no text may
// hold: NUL and the other C0 and C1 controls, except tab, and line breaks
// where lines is true (descriptions and comments have lines, titles do
// not). Jira's XML-based storage cannot hold them (its REST API answers
// 400 or strips them), so they are refused at the door.
func BadControl(s string, lines bool) (rune, bool) {
	for _, r := range s {
		if !unicode.IsControl(r) || r == '\t' {
			continue
		}
		if lines && (r == '\n' || r == '\r') {
			continue
		}
		return r, true
	}
	return 0, false
}

// StripControl removes the control characters BadControl would refuse,
// for text arriving from Jira: what Jira holds is kept, minus what no text
// here may hold. Title line breaks become spaces.
func StripControl(s string, lines bool) string {
	if _, bad := BadControl(s, lines); !bad {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unicode.IsControl(r) || r == '\t':
			b.WriteRune(r)
		case r == '\n' || r == '\r':
			if lines {
				b.WriteRune(r)
			} else {
				b.WriteByte(' ')
			}
		}
	}
	return b.String()
}

// checkText adds a problem for field when s is longer than max (counted as
// Jira counts) or holds a control character it may not.
func checkText(p Problems, field, s string, max int, lines bool, what string) {
	if n := TextLen(s); n > max {
		p.Add(field, "must be at most %d characters%s; it has %d", max, what, n)
		return
	}
	if r, bad := BadControl(s, lines); bad {
		p.Add(field, "must not contain the control character %s", controlName(r))
	}
}

func controlName(r rune) string {
	if r == 0 {
		return "NUL (U+0000)"
	}
	return fmt.Sprintf("U+%04X", r)
}
