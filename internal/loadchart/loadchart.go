// Package loadchart draws the charts of docs/benchmarks.md from the CSV
// tables of `sotto bench load` and scripts/bench-compare.sh: a metric
// against the arrival rate, one line per target, as SVG (gonum/plot).
package loadchart

import (
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Point is one rate's value of a metric.
type Point struct{ Rate, Value float64 }

// Series are the points of each target, by name.
type Series map[string][]Point

// ErrTable is returned for a CSV that is not a bench load or bench compare
// table, or lacks the metric.
var ErrTable = errors.New("loadchart: not a sotto bench load table")

// Read adds to s the metric column of a table: scripts/bench-compare.sh's
// (first column "target": one series per target) or `sotto bench load
// --csv`'s (first column "step": the ramp's steps, one series named after
// the file; its "all" row is left out).
func Read(s Series, name string, r io.Reader, metric string) error {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil || len(rows) < 2 {
		return fmt.Errorf("%w: %s", ErrTable, name)
	}
	head := rows[0]
	col := slices.Index(head, metric)
	rate := slices.Index(head, "rate")
	if col < 0 || rate < 0 || (head[0] != "target" && head[0] != "step") {
		return fmt.Errorf("%w: %s has no column %q", ErrTable, name, metric)
	}
	for _, row := range rows[1:] {
		target := row[0]
		if head[0] == "step" {
			if target == "all" {
				continue
			}
			target = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
		}
		x, err1 := strconv.ParseFloat(row[rate], 64)
		y, err2 := strconv.ParseFloat(row[col], 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("%w: %s: a value is not a number", ErrTable, name)
		}
		s[target] = append(s[target], Point{x, y})
	}
	return nil
}

// WriteSVG draws s as lines with points, x the arrival rate, and writes
// the SVG to w.
func WriteSVG(w io.Writer, s Series, title, yLabel string) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "arrival rate (conversations/s)"
	p.Y.Label.Text = yLabel
	p.Legend.Top, p.Legend.Left = true, true
	var args []any
	for _, name := range slices.Sorted(maps.Keys(s)) {
		pts := slices.Clone(s[name])
		slices.SortFunc(pts, func(a, b Point) int { return cmp.Compare(a.Rate, b.Rate) })
		xys := make(plotter.XYs, len(pts))
		for i, pt := range pts {
			xys[i].X, xys[i].Y = pt.Rate, pt.Value
		}
		args = append(args, name, xys)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("loadchart: %w", err)
	}
	wt, err := p.WriterTo(6*vg.Inch, 4*vg.Inch, "svg")
	if err != nil {
		return fmt.Errorf("loadchart: %w", err)
	}
	_, err = wt.WriteTo(w)
	return err
}
