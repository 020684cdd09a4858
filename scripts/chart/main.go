// Command chart draws a column of `sotto bench load --csv` or
// scripts/bench-compare.sh tables against the arrival rate as SVG
// (internal/loadchart). It is a separate program, not a `sotto`
// subcommand, so that the server binary does not carry a plotting
// library and its fonts:
//
//	go run ./scripts/chart --metric ttft_ms_p95 --title "..." --out chart.svg compare.csv [more.csv...]
//
// With --timeline it draws a fault run's timeline (TestFaultsUnderLoad's
// SOTTO_FAULT_TIMELINE table): requests ended per second by outcome, and
// the faults:
//
//	go run ./scripts/chart --timeline --title "..." --out faults.svg timeline.csv
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/sottolabs/sotto/internal/loadchart"
)

func main() {
	metric := flag.String("metric", "tokens_per_s", "the column to draw (tokens_per_s, ttft_ms_p95, goodput_per_s, ...)")
	title := flag.String("title", "", "the chart's title (default: the metric); name the machine and the command")
	out := flag.String("out", "", "the SVG file to write")
	timeline := flag.Bool("timeline", false, "draw a fault timeline (TestFaultsUnderLoad's SOTTO_FAULT_TIMELINE)")
	flag.Parse()
	draw := run
	if *timeline {
		draw = runTimeline
	}
	if err := draw(flag.Args(), *metric, *title, *out); err != nil {
		fmt.Fprintln(os.Stderr, "chart:", err)
		os.Exit(1)
	}
}

func run(csvs []string, metric, title, out string) error {
	if len(csvs) == 0 || out == "" {
		return errors.New("usage: chart --out FILE.svg [--metric COLUMN] TABLE.csv")
	}
	s := loadchart.Series{}
	for _, path := range csvs {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		err = loadchart.Read(s, path, f, metric)
		f.Close()
		if err != nil {
			return err
		}
	}
	if title == "" {
		title = metric
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := loadchart.WriteSVG(f, s, title, metric); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func runTimeline(csvs []string, _, title, out string) error {
	if len(csvs) != 1 || out == "" {
		return errors.New("usage: chart --timeline --out FILE.svg TIMELINE.csv")
	}
	in, err := os.Open(csvs[0])
	if err != nil {
		return err
	}
	tl, err := loadchart.ReadTimeline(csvs[0], in)
	in.Close()
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := loadchart.WriteTimelineSVG(f, tl, title, 0.5); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
