package richtext

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestScratch(t *testing.T) {
	for _, md := range []string{"\\~~~0~~", "\\**x*", "~~0~~\\~", "*x*\\*", "\\~~0~~"} {
		b, _ := json.Marshal(ToADF(md))
		fmt.Printf("%q => %s\n", md, b)
	}
}
