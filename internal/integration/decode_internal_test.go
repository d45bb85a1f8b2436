package integration

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vulnsync/vulnsync/internal/tracker"
)

// A mapping value of the wrong JSON type is a problem on its field, said
// in JSON's words; it used to be the decoder's sentence naming Go's types
// ("cannot unmarshal number into Go struct field Document.on_retest_failed
// of type string").
func TestDecodeMappingNamesTheMistypedField(t *testing.T) {
	for in, want := range map[string]map[string]string{
		`{"on_retest_failed": 5}`:              {"on_retest_failed": "must be string, not number"},
		`{"priority": []}`:                     {"priority": "must be object, not array"},
		`{"attachments": {"max_bytes": "10"}}`: {"attachments.max_bytes": "must be number, not string"},
		`{"attachments": {"to_jira": "yes"}}`:  {"attachments.to_jira": "must be boolean, not string"},
	} {
		_, err := decodeMapping(json.RawMessage(in))
		var te *tracker.Error
		if !errors.As(err, &te) || te.Kind != tracker.EInvalid {
			t.Errorf("%s: %v, want an invalid mapping", in, err)
			continue
		}
		if diff := cmp.Diff(want, te.Fields); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s\n(message %q)", in, diff, te.Message)
		}
	}
}
