package loadchart

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const timelineCSV = `kind,start_s,end_s,outcome
request,0.010,0.300,ok
request,0.020,0.900,truncated
request,1.100,1.400,refused:overloaded
fault,0.500,0.500,worker1 SIGKILL
`

// TestTimeline: a fault timeline's requests and faults are read, and the
// SVG names every outcome and every fault.
func TestTimeline(t *testing.T) {
	tl, err := ReadTimeline("t.csv", strings.NewReader(timelineCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Requests) != 3 || tl.Requests[1] != (Timed{0.02, 0.9, "truncated"}) || len(tl.Faults) != 1 || tl.Faults[0] != (Fault{0.5, "worker1 SIGKILL"}) {
		t.Fatalf("timeline %+v", tl)
	}
	var out bytes.Buffer
	if err := WriteTimelineSVG(&out, tl, "faults", 0.5); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"<svg", "ok", "truncated", "refused:overloaded", "worker1 SIGKILL", "requests ended per second"} {
		if !bytes.Contains(out.Bytes(), []byte(name)) {
			t.Errorf("SVG lacks %q", name)
		}
	}
	for _, bad := range []string{"", "kind,start_s,end_s,outcome\nother,1,2,x\n", "kind,start_s,end_s,outcome\nrequest,a,2,ok\n", compareCSV} {
		if _, err := ReadTimeline("bad.csv", strings.NewReader(bad)); !errors.Is(err, ErrTable) {
			t.Errorf("ReadTimeline(%q) = %v, want ErrTable", bad, err)
		}
	}
}
