//! The sweep heatmap (`sweep-heatmap`): median time to the first conntrack-cache failure over two
//! swept settings, vm.extfrag_threshold across and vm.min_free_kbytes up when both were swept
//! (else the first two settings). Brighter is longer; a hatched grey cell never reached its median
//! within the simulated time. Each cell also gives the median's 90 % interval and how many runs
//! failed. When more
//! settings were swept, a cell shows the worst (shortest) median over them.

use super::data::{SweepRow, SweepTable, Title};
use super::{font, save, short, viridis_bar, DrawError, Figure, PlotError, Ticks, TimeUnit};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// The settings preferred across and up.
const PREFERRED: [&str; 2] = ["vm.extfrag_threshold", "vm.min_free_kbytes"];
/// Cells whose median was not reached.
const CENSORED: RGBColor = RGBColor(215, 215, 215);

/// One swept setting as an axis: its name and its values in order.
struct Axis {
    name: String,
    /// Column in the table, `None` for the single-category axis of a one-setting sweep.
    col: Option<usize>,
    values: Vec<String>,
}

impl Axis {
    fn new(table: &SweepTable, col: Option<usize>) -> Axis {
        let Some(c) = col else {
            return Axis {
                name: String::new(),
                col,
                values: vec![String::new()],
            };
        };
        let mut values: Vec<String> = Vec::new();
        for row in &table.rows {
            if !values.contains(&row.values[c]) {
                values.push(row.values[c].clone());
            }
        }
        let numeric: Option<Vec<f64>> = values.iter().map(|v| v.parse().ok()).collect();
        match numeric {
            Some(nums) => {
                let mut pairs: Vec<(f64, String)> = nums.into_iter().zip(values).collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                values = pairs.into_iter().map(|(_, v)| v).collect();
            }
            None => values.sort(),
        }
        Axis {
            name: table.settings[c].clone(),
            col,
            values,
        }
    }

    fn index(&self, row: &SweepRow) -> usize {
        self.col
            .and_then(|c| self.values.iter().position(|v| *v == row.values[c]))
            .unwrap_or(0)
    }
}

/// One cell: the worst (shortest) median over the rows that fall in it with that row's interval,
/// and their runs and failures added up.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Cell {
    /// Whether any row fell in it.
    filled: bool,
    median_s: Option<f64>,
    /// The 90 % interval of the median.
    interval_s: Option<(f64, f64)>,
    runs: u64,
    failed: u64,
}

/// The figure.
pub struct SweepHeatmap {
    title: String,
    x: Axis,
    y: Axis,
    /// `cells[j][i]`: y index j, x index i.
    cells: Vec<Vec<Cell>>,
    unit: TimeUnit,
}

impl SweepHeatmap {
    pub fn new(table: &SweepTable, title: String) -> SweepHeatmap {
        let named: Vec<usize> = PREFERRED
            .iter()
            .filter_map(|p| table.settings.iter().position(|s| s == p))
            .collect();
        let (xc, yc) = if named.len() == 2 {
            (Some(named[0]), Some(named[1]))
        } else {
            let n = table.settings.len();
            ((n > 0).then_some(0), (n > 1).then_some(1))
        };
        let (x, y) = (Axis::new(table, xc), Axis::new(table, yc));
        let mut cells = vec![vec![Cell::default(); x.values.len()]; y.values.len()];
        for row in &table.rows {
            let cell = &mut cells[y.index(row)][x.index(row)];
            let worse = match (cell.median_s, row.median_s) {
                (Some(a), Some(b)) => b < a,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if !cell.filled || worse {
                cell.median_s = row.median_s;
                cell.interval_s = row.lo90_s.zip(row.hi90_s);
            }
            cell.runs += row.runs;
            cell.failed += row.failed;
            cell.filled = true;
        }
        let others: Vec<&str> = table
            .settings
            .iter()
            .enumerate()
            .filter(|(c, _)| Some(*c) != xc && Some(*c) != yc)
            .map(|(_, s)| s.as_str())
            .collect();
        let title = if others.is_empty() {
            title
        } else {
            format!("{title} (worst over {})", others.join(", "))
        };
        let longest = table
            .rows
            .iter()
            .filter_map(|r| r.median_s)
            .fold(0.0, f64::max);
        SweepHeatmap {
            title,
            x,
            y,
            cells,
            unit: TimeUnit::for_span(longest),
        }
    }

    /// The range of the reached medians in the figure's unit.
    fn medians(&self) -> (f64, f64) {
        let reached = self
            .cells
            .iter()
            .flatten()
            .filter_map(|c| c.median_s.map(|m| self.unit.of(m)));
        let (lo, hi) = reached.fold((f64::INFINITY, 0.0f64), |(lo, hi), m| {
            (lo.min(m), hi.max(m))
        });
        if lo.is_finite() {
            (lo.min(hi), hi)
        } else {
            (0.0, 1.0)
        }
    }
}

impl Figure for SweepHeatmap {
    fn size(&self) -> (u32, u32) {
        (1100, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let (main, bar) = root.split_horizontally(950);
        let (nx, ny) = (self.x.values.len(), self.y.values.len());
        let keys = |n: usize| (0..n).map(|i| i as f64 + 0.5).collect::<Vec<_>>();
        let mut chart = ChartBuilder::on(&main)
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(100)
            .build_cartesian_2d(
                Ticks::new(0.0..nx as f64, keys(nx)),
                Ticks::new(0.0..ny as f64, keys(ny)),
            )?;
        let name = |axis: &Axis| {
            let axis_values = axis.values.clone();
            move |v: &f64| axis_values.get(*v as usize).cloned().unwrap_or_default()
        };
        let (xname, yname) = (name(&self.x), name(&self.y));
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(self.x.name.clone())
            .y_desc(self.y.name.clone())
            .x_label_formatter(&xname)
            .y_label_formatter(&yname)
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        let (lo, hi) = self.medians();
        let unit = self.unit;
        for (j, row) in self.cells.iter().enumerate() {
            for (i, cell) in row.iter().enumerate() {
                let (x0, y0) = (i as f64, j as f64);
                let corners = [(x0, y0), (x0 + 1.0, y0 + 1.0)];
                let centre = (x0 + 0.5, y0 + 0.5);
                let (fill, text) = match (cell.filled, cell.median_s) {
                    (false, _) => continue,
                    (true, Some(m)) => {
                        let m = unit.of(m);
                        // One median alone is drawn at the scale's dark end.
                        let norm = if hi > lo { (m - lo) / (hi - lo) } else { 0.0 };
                        let text = if norm < 0.55 { WHITE } else { BLACK };
                        (
                            ViridisRGB::get_color_normalized(m, lo, hi.max(lo + 1e-9)),
                            text,
                        )
                    }
                    (true, None) => (CENSORED, BLACK),
                };
                chart.draw_series(std::iter::once(Rectangle::new(corners, fill.filled())))?;
                if cell.median_s.is_none() {
                    // Hatching: parallel diagonals inside the cell.
                    chart.draw_series((1..8).flat_map(|k| {
                        let a = k as f64 / 8.0;
                        [
                            PathElement::new(
                                vec![(x0 + a, y0), (x0 + 1.0, y0 + 1.0 - a)],
                                BLACK.mix(0.35),
                            ),
                            PathElement::new(
                                vec![(x0, y0 + a), (x0 + 1.0 - a, y0 + 1.0)],
                                BLACK.mix(0.35),
                            ),
                        ]
                    }))?;
                }
                let median = match cell.median_s {
                    Some(m) => format!("{} {}", short(unit.of(m)), unit.name),
                    None => "not reached".to_string(),
                };
                let interval = cell.interval_s.map_or(String::new(), |(a, b)| {
                    format!(
                        "90 %: {}–{} {}",
                        short(unit.of(a)),
                        short(unit.of(b)),
                        unit.name
                    )
                });
                let failed = format!("{} of {} runs failed", cell.failed, cell.runs);
                chart.draw_series(
                    [(median, -16, 16), (interval, 4, 12), (failed, 21, 12)].map(
                        |(line, dy, size)| {
                            EmptyElement::at(centre)
                                + Text::new(
                                    line,
                                    (0, dy),
                                    font(size)
                                        .color(&text)
                                        .pos(Pos::new(HPos::Center, VPos::Center)),
                                )
                        },
                    ),
                )?;
                chart.draw_series(std::iter::once(Rectangle::new(
                    corners,
                    WHITE.stroke_width(1),
                )))?;
            }
        }
        let ticks = (0..5).map(|k| lo + (hi - lo) * k as f64 / 4.0).collect();
        viridis_bar(
            &bar,
            (lo, hi),
            ticks,
            &|v| short(*v),
            &format!("median time to first failure ({})", unit.name),
        )
    }
}

/// Writes `sweep-heatmap.{png,svg}` (nothing for a table without rows).
pub fn plot(table: &SweepTable, title: &Title, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    if table.rows.is_empty() {
        return Ok(Vec::new());
    }
    let fig = SweepHeatmap::new(table, title.of("Median time to first conntrack failure"));
    save(&fig, out, "sweep-heatmap")
}
