package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// writeChart draws, side by side, the throughput and the client CPU time per call of each
// client against the concurrency (1 KB answers, altervault-dev), both axes logarithmic: the
// clients differ by more than an order of magnitude. It writes to path in the format its
// extension names (svg, png).
func writeChart(path string, rs []cellResult) error {
	ticks := make([]plot.Tick, len(concurrencies))
	for i, c := range concurrencies {
		ticks[i] = plot.Tick{Value: float64(c), Label: fmt.Sprint(c)}
	}
	panel := func(title, ylabel string, y func(*DriverResult) float64) (*plot.Plot, error) {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = "concurrency"
		p.Y.Label.Text = ylabel
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Legend.Top = true
		var lines []any
		for _, cl := range clients {
			var xys plotter.XYs
			for _, c := range concurrencies {
				if r := find(rs, cl, c, bodies[0]); r != nil && y(r) > 0 {
					xys = append(xys, plotter.XY{X: float64(c), Y: y(r)})
				}
			}
			if len(xys) > 0 {
				lines = append(lines, cl, xys)
			}
		}
		if err := plotutil.AddLinePoints(p, lines...); err != nil {
			return nil, err
		}
		p.Y.Max *= 4 // room above the highest line for the legend (a log axis: a factor)
		return p, nil
	}
	tp, err := panel("Throughput", "calls/s", (*DriverResult).throughput)
	if err != nil {
		return err
	}
	cpu, err := panel("Client CPU per call", "µs (user+sys)", func(r *DriverResult) float64 { return r.cpuPerCall() / 1e3 })
	if err != nil {
		return err
	}
	const w, h = 11 * vg.Inch, 4.5 * vg.Inch
	img, err := draw.NewFormattedCanvas(w, h, strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 2, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	canvases := plot.Align([][]*plot.Plot{{tp, cpu}}, tiles, draw.New(img))
	tp.Draw(canvases[0][0])
	cpu.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}
