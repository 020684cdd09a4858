// Command chart draws a column of `sotto bench load --csv` or
// scripts/bench-compare.sh tables against the arrival rate as SVG
// (internal/loadchart). It is a separate program, not a `sotto`
// subcommand, so that the server binary does not carry a plotting
// library and its fonts:
//
//	go run ./scripts/chart --metric ttft_ms_p95 --title "..." --out chart.svg compare.csv [more.csv...]
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
	flag.Parse()
	if err := run(flag.Args(), *metric, *title, *out); err != nil {
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
