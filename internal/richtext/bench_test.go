package richtext

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// benchMarkdown is a vulnerability description of a realistic size (about
// 2 KB): headings, lists, code, a table and links, repeated.
var benchMarkdown = strings.Repeat(roundTripByName("mixed document").md+"\n\n", 8)

func roundTripByName(name string) roundTrip {
	for _, tc := range roundTrips {
		if tc.name == name {
			return tc
		}
	}
	panic("no round trip named " + name)
}

func BenchmarkToADF(b *testing.B) {
	b.SetBytes(int64(len(benchMarkdown)))
	for b.Loop() {
		ToADF(benchMarkdown)
	}
}

func BenchmarkFromADF(b *testing.B) {
	doc := ToADF(benchMarkdown)
	b.SetBytes(int64(len(benchMarkdown)))
	for b.Loop() {
		FromADF(doc)
	}
}

func BenchmarkToWiki(b *testing.B) {
	b.SetBytes(int64(len(benchMarkdown)))
	for b.Loop() {
		ToWiki(benchMarkdown)
	}
}

func BenchmarkFromWiki(b *testing.B) {
	wiki := ToWiki(benchMarkdown)
	b.SetBytes(int64(len(wiki)))
	for b.Loop() {
		FromWiki(wiki)
	}
}

func BenchmarkParseADF(b *testing.B) {
	raw, err := json.Marshal(ToADF(benchMarkdown))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParseADF(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// The converters share one goldmark parser; concurrent use must give the
// same results as sequential use (run with -race to check for data races).
func TestConcurrentConversions(t *testing.T) {
	want := FromADF(ToADF(benchMarkdown))
	wantWiki := ToWiki(benchMarkdown)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := FromADF(ToADF(benchMarkdown)); got != want {
				errs <- "FromADF(ToADF) differs under concurrency"
			}
			if got := ToWiki(benchMarkdown); got != wantWiki {
				errs <- "ToWiki differs under concurrency"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
