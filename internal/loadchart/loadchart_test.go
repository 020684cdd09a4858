package loadchart

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
)

const compareCSV = `target,rate,requests,tokens_per_s,ttft_ms_p95
sotto,2,10,120.5,300
sotto,1,5,60.25,200
llama-server,1,5,59,250
llama-server,2,10,110,900
`

const rampCSV = `step,rate,requests,tokens_per_s
1,5.000,51,202.173
2,10.000,106,470.004
all,0.000,157,300
`

// TestReadAndDraw: series by target from a compare table, by file from a
// ramp table without its "all" row, sorted by rate in a well-formed SVG
// naming every series.
func TestReadAndDraw(t *testing.T) {
	s := Series{}
	if err := Read(s, "compare.csv", strings.NewReader(compareCSV), "tokens_per_s"); err != nil {
		t.Fatal(err)
	}
	if err := Read(s, "runs/ramp.csv", strings.NewReader(rampCSV), "tokens_per_s"); err != nil {
		t.Fatal(err)
	}
	if len(s) != 3 || len(s["sotto"]) != 2 || s["sotto"][1] != (Point{1, 60.25}) || len(s["ramp"]) != 2 || s["ramp"][1] != (Point{10, 470.004}) {
		t.Fatalf("series %v", s)
	}
	var out bytes.Buffer
	if err := WriteSVG(&out, s, "tokens/s", "tokens/s"); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(out.Bytes()))
	for {
		if _, err := d.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("SVG is not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, name := range []string{"<svg", "sotto", "llama-server", "ramp", "arrival rate"} {
		if !bytes.Contains(out.Bytes(), []byte(name)) {
			t.Errorf("SVG lacks %q", name)
		}
	}
	for _, bad := range []string{"", "a,b\n1,2\n", "target,rate\nx,1\n", "target,rate,tokens_per_s\nx,one,2\n"} {
		if err := Read(Series{}, "bad.csv", strings.NewReader(bad), "tokens_per_s"); !errors.Is(err, ErrTable) {
			t.Errorf("Read(%q) = %v, want ErrTable", bad, err)
		}
	}
}
