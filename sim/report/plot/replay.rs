//! A replay (`replay-<node>-<zone>`): one small panel per order, free blocks over time at the
//! capture times, captured (black dots) and simulated (blue crosses), so where the workload
//! drifts from the node shows order by order.

use super::{file_safe, font, palette, range, save, tick, DrawError, Figure, PlotError, TimeUnit};
use crate::report::replay::{ReplayReport, ReplayRow};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Panels per row.
const COLUMNS: usize = 4;
const PANEL: (u32, u32) = (330, 240);

/// The figure of one zone.
pub struct Replay<'a> {
    title: String,
    unit: TimeUnit,
    rows: Vec<&'a ReplayRow>,
    orders: usize,
}

impl<'a> Replay<'a> {
    /// The figure of one zone's rows (in time order).
    pub fn new(rows: Vec<&'a ReplayRow>, title: String) -> Self {
        let end = rows.last().map_or(1.0, |r| r.offset_s);
        let orders = rows.iter().map(|r| r.captured.len()).max().unwrap_or(0);
        Replay {
            title,
            unit: TimeUnit::for_span(end),
            rows,
            orders,
        }
    }
}

impl Figure for Replay<'_> {
    fn size(&self) -> (u32, u32) {
        let rows = self.orders.max(1).div_ceil(COLUMNS) as u32;
        (COLUMNS as u32 * PANEL.0, 50 + rows * PANEL.1)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let areas = root.split_evenly((self.orders.max(1).div_ceil(COLUMNS), COLUMNS));
        let unit = self.unit;
        let end = unit.of(self.rows.last().map_or(1.0, |r| r.offset_s));
        let at = |v: &[u64], k: usize| v.get(k).copied().unwrap_or(0) as f64;
        for (k, area) in areas.iter().enumerate().take(self.orders) {
            let top = self
                .rows
                .iter()
                .map(|r| at(&r.captured, k).max(at(&r.simulated, k)))
                .fold(1.0f64, f64::max)
                * 1.1;
            let mut chart = ChartBuilder::on(area)
                .caption(format!("order {k}"), font(14))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(50)
                .build_cartesian_2d(range(0.0, end), range(0.0, top))?;
            chart
                .configure_mesh()
                .x_labels(5)
                .y_labels(5)
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .label_style(font(11))
                .draw()?;
            for (captured, colour) in [(true, palette::BLACK), (false, palette::BLUE)] {
                let points: Vec<(f64, f64)> = self
                    .rows
                    .iter()
                    .map(|r| {
                        let v = if captured { &r.captured } else { &r.simulated };
                        (unit.of(r.offset_s), at(v, k))
                    })
                    .collect();
                chart.draw_series(LineSeries::new(points.clone(), colour.stroke_width(1)))?;
                if captured {
                    chart
                        .draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
                } else {
                    chart.draw_series(
                        points
                            .iter()
                            .map(|&p| Cross::new(p, 4, colour.stroke_width(2))),
                    )?;
                }
            }
        }
        if let Some(area) = areas.get(self.orders) {
            let (w, _) = area.dim_in_pixel();
            let x = (w / 8) as i32;
            for (i, (name, colour)) in [
                ("captured (dots)", palette::BLACK),
                ("simulated (crosses)", palette::BLUE),
            ]
            .into_iter()
            .enumerate()
            {
                let y = 60 + 30 * i as i32;
                area.draw(&PathElement::new(
                    vec![(x, y), (x + 30, y)],
                    colour.stroke_width(3),
                ))?;
                area.draw(&Text::new(name, (x + 40, y - 8), font(15)))?;
            }
            area.draw(&Text::new(
                format!("free blocks; time in {}", unit.name),
                (x, 130),
                font(14),
            ))?;
        }
        Ok(())
    }
}

/// Writes `replay-<node>-<zone>.{png,svg}` into `out` for every zone of the report.
pub fn plot(r: &ReplayReport, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let mut zones: BTreeMap<(u32, &str), Vec<&ReplayRow>> = BTreeMap::new();
    for row in &r.rows {
        zones
            .entry((row.node, row.zone.name()))
            .or_default()
            .push(row);
    }
    let mut written = Vec::new();
    for ((node, zone), rows) in zones {
        let fig = Replay::new(
            rows,
            format!(
                "Replay: free blocks per order, node {node} zone {zone} — {} (kernel {}, seed {})",
                r.scenario, r.kernel, r.seed
            ),
        );
        written.extend(save(
            &fig,
            out,
            &format!("replay-{node}-{}", file_safe(zone)),
        )?);
    }
    Ok(written)
}
