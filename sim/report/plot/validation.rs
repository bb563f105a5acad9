//! Validation against a real kernel (`validation-<run>`), one figure per run with small multiples:
//! for every mark and zone, free blocks per order on the real machine (black) and in the simulator
//! (blue) on a log scale; then, from comparison-counts.csv, the blocks each operation got, real
//! across and simulated up (on the diagonal when they agree).

use super::data::{CountComparison, FreeComparison};
use super::{file_safe, font, palette, range, save, tick, DrawError, Figure, PlotError};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Small multiples per row.
const COLUMNS: usize = 3;
const PANEL: (u32, u32) = (440, 320);

/// Free blocks of one mark and zone: (order, real, simulated).
struct FreePanel {
    name: String,
    points: Vec<(u32, u64, u64)>,
}

/// The figure of one run.
pub struct Validation<'a> {
    title: String,
    free: Vec<FreePanel>,
    counts: Vec<&'a CountComparison>,
}

impl<'a> Validation<'a> {
    /// The panels of `run` from the rows of both files (in file order).
    pub fn new(run: &str, free: &[FreeComparison], counts: &'a [CountComparison]) -> Self {
        let mut panels: Vec<FreePanel> = Vec::new();
        for row in free.iter().filter(|r| r.run == run) {
            let name = format!("{}: node {} {}", row.mark, row.node, row.zone);
            let point = (row.order, row.real, row.simulated);
            match panels.iter_mut().find(|p| p.name == name) {
                Some(panel) => panel.points.push(point),
                None => panels.push(FreePanel {
                    name,
                    points: vec![point],
                }),
            }
        }
        for panel in &mut panels {
            panel.points.sort_by_key(|p| p.0);
        }
        Validation {
            title: format!("Validation of {run}: real kernel vs simulator"),
            free: panels,
            counts: counts.iter().filter(|c| c.run == run).collect(),
        }
    }

    fn panels(&self) -> usize {
        self.free.len() + usize::from(!self.counts.is_empty())
    }
}

impl Figure for Validation<'_> {
    fn size(&self) -> (u32, u32) {
        let n = self.panels().max(1);
        let cols = n.min(COLUMNS) as u32;
        let rows = n.div_ceil(COLUMNS) as u32;
        (cols * PANEL.0, 50 + rows * PANEL.1)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let n = self.panels().max(1);
        let areas = root.split_evenly((n.div_ceil(COLUMNS), n.min(COLUMNS)));
        for (panel, area) in self.free.iter().zip(&areas) {
            let top = panel
                .points
                .iter()
                .map(|p| p.1.max(p.2))
                .max()
                .unwrap_or(1)
                .max(1) as f64;
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.name, font(15))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(-0.5..10.5, (0.5..top * 2.0).log_scale())?;
            chart
                .configure_mesh()
                .y_label_formatter(&tick)
                .x_labels(11)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .x_desc("order")
                .y_desc("free blocks (0 at the bottom)")
                .label_style(font(12))
                .axis_desc_style(font(13))
                .draw()?;
            for (pick, colour, name) in [
                (1usize, palette::BLACK, "real"),
                (2, palette::BLUE, "simulated"),
            ] {
                let points: Vec<(f64, f64)> = panel
                    .points
                    .iter()
                    .map(|p| {
                        let v = if pick == 1 { p.1 } else { p.2 };
                        (p.0 as f64, (v as f64).max(0.5))
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
                if pick == 1 {
                    chart
                        .draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
                } else {
                    chart.draw_series(
                        points
                            .iter()
                            .map(|&p| Cross::new(p, 5, colour.stroke_width(2))),
                    )?;
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(font(12))
                .draw()?;
        }
        if let Some(area) = areas
            .get(self.free.len())
            .filter(|_| !self.counts.is_empty())
        {
            let top = self
                .counts
                .iter()
                .map(|c| c.real.max(c.simulated))
                .max()
                .unwrap_or(1) as f64
                * 1.05;
            let mut chart = ChartBuilder::on(area)
                .caption("blocks each operation got", font(15))
                .margin(10)
                .x_label_area_size(40)
                .y_label_area_size(60)
                .build_cartesian_2d(range(0.0, top), range(0.0, top))?;
            chart
                .configure_mesh()
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .x_desc("real (blocks)")
                .y_desc("simulated (blocks)")
                .label_style(font(12))
                .axis_desc_style(font(13))
                .draw()?;
            chart.draw_series(LineSeries::new(
                [(0.0, 0.0), (top, top)],
                palette::BLACK.mix(0.4).stroke_width(1),
            ))?;
            chart.draw_series(self.counts.iter().map(|c| {
                Circle::new(
                    (c.real as f64, c.simulated as f64),
                    4,
                    palette::BLUE.stroke_width(2),
                )
            }))?;
        }
        Ok(())
    }
}

/// Writes `validation-<run>.{png,svg}` for every run in either file (sorted by name).
pub fn plot(
    free: &[FreeComparison],
    counts: &[CountComparison],
    out: &Path,
) -> Result<Vec<PathBuf>, PlotError> {
    let runs: BTreeSet<&str> = free
        .iter()
        .map(|r| r.run.as_str())
        .chain(counts.iter().map(|c| c.run.as_str()))
        .collect();
    let mut written = Vec::new();
    for run in runs {
        let fig = Validation::new(run, free, counts);
        written.extend(save(&fig, out, &format!("validation-{}", file_safe(run)))?);
    }
    Ok(written)
}
