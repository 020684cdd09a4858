package loadchart

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Timeline is a fault run's table (TestFaultsUnderLoad's
// SOTTO_FAULT_TIMELINE): every request's start, end and outcome, and the
// faults, in seconds from the start of the load.
type Timeline struct {
	Requests []Timed
	Faults   []Fault
}

// Timed is one request: outcome "ok", "truncated", "refused:NAME" or a
// failure's name.
type Timed struct {
	Start, End float64
	Outcome    string
}

// Fault is one step of the fault script.
type Fault struct {
	At   float64
	Name string
}

// ReadTimeline reads a timeline table: kind,start_s,end_s,outcome, kind
// "request" or "fault" (its outcome column is the fault's name).
func ReadTimeline(name string, r io.Reader) (*Timeline, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil || len(rows) < 2 || !slices.Equal(rows[0], []string{"kind", "start_s", "end_s", "outcome"}) {
		return nil, fmt.Errorf("%w: %s is not a fault timeline", ErrTable, name)
	}
	tl := &Timeline{}
	for _, row := range rows[1:] {
		start, err1 := strconv.ParseFloat(row[1], 64)
		end, err2 := strconv.ParseFloat(row[2], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: %s: a time is not a number", ErrTable, name)
		}
		switch row[0] {
		case "request":
			tl.Requests = append(tl.Requests, Timed{start, end, row[3]})
		case "fault":
			tl.Faults = append(tl.Faults, Fault{start, row[3]})
		default:
			return nil, fmt.Errorf("%w: %s: kind %q", ErrTable, name, row[0])
		}
	}
	return tl, nil
}

// WriteTimelineSVG draws the requests ended per second in bins of bin
// seconds, one line per outcome (refusals by name, the rest as they are),
// against time, and a dashed line with its name at each fault.
func WriteTimelineSVG(w io.Writer, tl *Timeline, title string, bin float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time since the load started (s)"
	p.Y.Label.Text = "requests ended per second"
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(20)
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	last := 0.0
	for _, r := range tl.Requests {
		last = max(last, r.End)
	}
	n := int(math.Ceil(last/bin)) + 1
	byOutcome := map[string]plotter.XYs{}
	for _, r := range tl.Requests {
		xys, ok := byOutcome[r.Outcome]
		if !ok {
			xys = make(plotter.XYs, n)
			for i := range xys {
				xys[i].X = float64(i) * bin
			}
			byOutcome[r.Outcome] = xys
		}
		xys[int(r.End/bin)].Y += 1 / bin
	}
	var args []any
	top := 1.0
	for _, name := range slices.Sorted(maps.Keys(byOutcome)) {
		args = append(args, name, byOutcome[name])
		for _, xy := range byOutcome[name] {
			top = max(top, xy.Y)
		}
	}
	if err := plotutil.AddLines(p, args...); err != nil {
		return fmt.Errorf("loadchart: %w", err)
	}
	if err := addFaults(p, tl.Faults, top); err != nil {
		return err
	}
	p.Y.Max = top * 1.9 // room above the lines for the faults' names and the legend
	wt, err := p.WriterTo(9*vg.Inch, 4.5*vg.Inch, "svg")
	if err != nil {
		return fmt.Errorf("loadchart: %w", err)
	}
	_, err = wt.WriteTo(w)
	return err
}

// addFaults draws each fault as a dashed vertical line, its name at a
// height that steps down so that close faults' names do not overlap.
func addFaults(p *plot.Plot, faults []Fault, top float64) error {
	labels := plotter.XYLabels{}
	for i, f := range faults {
		l, err := plotter.NewLine(plotter.XYs{{X: f.At, Y: 0}, {X: f.At, Y: top * 1.3}})
		if err != nil {
			return fmt.Errorf("loadchart: %w", err)
		}
		l.LineStyle.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
		labels.XYs = append(labels.XYs, plotter.XY{X: f.At, Y: top * (1.3 - 0.07*float64(i%4))})
		labels.Labels = append(labels.Labels, " "+strings.TrimSpace(f.Name))
	}
	if len(faults) == 0 {
		return nil
	}
	ls, err := plotter.NewLabels(labels)
	if err != nil {
		return fmt.Errorf("loadchart: %w", err)
	}
	for i := range ls.TextStyle {
		ls.TextStyle[i].Font.Size = vg.Points(7)
	}
	p.Add(ls)
	return nil
}
