package scanreport

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// lineReader remembers where each line starts, so a decoder's byte offset
// can be reported as a line number.
type lineReader struct {
	r        io.Reader
	read     int64
	newlines []int64
}

func (l *lineReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.newlines = append(l.newlines, l.read+int64(i))
		}
	}
	l.read += int64(n)
	return n, err
}

// line returns the 1-based line of byte offset off.
func (l *lineReader) line(off int64) int {
	return 1 + sort.Search(len(l.newlines), func(i int) bool { return l.newlines[i] >= off })
}

// jsonStream walks a JSON document token by token, decoding the parts it
// is asked to into values, and turns every failure into an error naming
// the line and the JSON path.
type jsonStream struct {
	format Format
	lines  *lineReader
	dec    *json.Decoder
}

func newJSONStream(format Format, r io.Reader) *jsonStream {
	lr := &lineReader{r: bufio.NewReaderSize(r, 64<<10)}
	dec := json.NewDecoder(lr)
	dec.UseNumber()
	return &jsonStream{format: format, lines: lr, dec: dec}
}

// fail reports err at JSON path p.
func (s *jsonStream) fail(p string, err error) error {
	off := s.dec.InputOffset()
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		off = s.lines.read
		msg = "unexpected end of the report (truncated?)"
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
		if typ.Field != "" {
			p = joinPath(p, typ.Field)
		}
		msg = fmt.Sprintf("expected %s, found a JSON %s", typ.Type, typ.Value)
	}
	where := fmt.Sprintf("line %d", s.lines.line(off))
	if p != "" {
		where += ", " + p
	}
	return malformed(s.format, where, "%s", msg)
}

func joinPath(p, field string) string {
	if p == "" {
		return field
	}
	return p + "." + field
}

// open reads the opening delimiter of an object ('{') or array ('[') at p.
func (s *jsonStream) open(p string, delim json.Delim) error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.fail(p, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != delim {
		what := "an object"
		if delim == '[' {
			what = "an array"
		}
		return s.fail(p, fmt.Errorf("expected %s, found %v", what, describe(tok)))
	}
	return nil
}

// more reports whether the current object or array has another member;
// when not, it consumes the closing delimiter.
func (s *jsonStream) more(p string) (bool, error) {
	if s.dec.More() {
		return true, nil
	}
	if _, err := s.dec.Token(); err != nil {
		return false, s.fail(p, err)
	}
	return false, nil
}

// key reads the next key of an object.
func (s *jsonStream) key(p string) (string, error) {
	tok, err := s.dec.Token()
	if err != nil {
		return "", s.fail(p, err)
	}
	k, ok := tok.(string)
	if !ok {
		return "", s.fail(p, fmt.Errorf("expected a key, found %v", describe(tok)))
	}
	return k, nil
}

// decode reads the next value into v.
func (s *jsonStream) decode(p string, v any) error {
	if err := s.dec.Decode(v); err != nil {
		return s.fail(p, err)
	}
	return nil
}

// skip reads and drops the next value.
func (s *jsonStream) skip(p string) error {
	var raw json.RawMessage
	return s.decode(p, &raw)
}

// end checks that nothing but white space follows the document.
func (s *jsonStream) end() error {
	if _, err := s.dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			err = errors.New("unexpected data after the end of the document")
		}
		return s.fail("", err)
	}
	return nil
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%v", tok)
}

// str returns the text of a JSON scalar decoded into any (ZAP writes
// numbers as strings, others as numbers).
func str(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case json.Number:
		return t.String()
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// decodeWhole decodes one JSON document into v, refusing trailing data.
func decodeWhole(format Format, r io.Reader, v any) error {
	s := newJSONStream(format, r)
	if err := s.decode("", v); err != nil {
		return err
	}
	return s.end()
}
