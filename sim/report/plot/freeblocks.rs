//! Free blocks per order over time, one heatmap per zone (`freeblocks-<node>-<zone>`): time
//! across, order up, colour the number of free blocks on a log scale (grey: none). Order 6, the
//! conntrack cache's memcg array, is outlined: where its row goes grey, order-6 requests must
//! compact or fail.

use super::data::{BuddyRow, Title, ORDERS};
use super::{
    file_safe, font, palette, range, save, tick, viridis_bar, DrawError, Figure, PlotError, Ticks,
    TimeUnit,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// At most this many time columns; more samples are averaged in consecutive groups.
const MAX_COLUMNS: usize = 300;
/// The order the incident's allocation asks for.
const MARKED_ORDER: usize = 6;
/// The colour of a cell with no free block.
const NONE: RGBColor = RGBColor(225, 225, 225);

/// One column of the heatmap: `[t0, t1)` and the mean free blocks per order over it.
struct Column {
    t0: f64,
    t1: f64,
    blocks: [f64; ORDERS],
}

/// The heatmap of one zone.
pub struct FreeBlocks {
    title: String,
    unit: TimeUnit,
    columns: Vec<Column>,
}

impl FreeBlocks {
    /// The heatmap of one zone's rows (in time order).
    pub fn new(rows: &[&BuddyRow], title: String) -> FreeBlocks {
        let chunk = rows.len().div_ceil(MAX_COLUMNS).max(1);
        let times: Vec<f64> = rows.iter().map(|r| r.time_s).collect();
        let step = match times.len() {
            0 | 1 => 1.0,
            n => (times[n - 1] - times[0]) / (n - 1) as f64,
        };
        let columns: Vec<Column> = rows
            .chunks(chunk)
            .enumerate()
            .map(|(i, group)| {
                let mut blocks = [0.0; ORDERS];
                for row in group {
                    for (b, &n) in blocks.iter_mut().zip(&row.free) {
                        *b += n as f64 / group.len() as f64;
                    }
                }
                let t0 = group[0].time_s;
                let t1 = times
                    .get((i + 1) * chunk)
                    .copied()
                    .unwrap_or(group[group.len() - 1].time_s + step);
                Column { t0, t1, blocks }
            })
            .collect();
        let end = columns.last().map_or(1.0, |c| c.t1);
        FreeBlocks {
            title,
            unit: TimeUnit::for_span(end),
            columns,
        }
    }
}

/// log10(1 + n): the colour scale.
fn scale(n: f64) -> f64 {
    (1.0 + n).log10()
}

impl Figure for FreeBlocks {
    fn size(&self) -> (u32, u32) {
        (1100, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let (main, bar) = root.split_horizontally(960);
        let unit = self.unit;
        let end = unit.of(self.columns.last().map_or(1.0, |c| c.t1));
        let start = unit.of(self.columns.first().map_or(0.0, |c| c.t0));
        let rows: Vec<f64> = (0..ORDERS).map(|k| k as f64 + 0.5).collect();
        let mut chart = ChartBuilder::on(&main)
            .margin(15)
            .margin_top(30)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(range(start, end), Ticks::new(0.0..ORDERS as f64, rows))?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .disable_mesh()
            .x_desc(unit.label())
            .y_desc("order (block = 2^order pages)")
            .y_label_formatter(&|v| format!("{}", v.floor()))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        let vmax = self
            .columns
            .iter()
            .flat_map(|c| c.blocks.iter())
            .fold(1.0f64, |m, &n| m.max(scale(n)));
        chart.draw_series(self.columns.iter().flat_map(|c| {
            c.blocks.iter().enumerate().map(move |(k, &n)| {
                let colour = if n > 0.0 {
                    ViridisRGB::get_color_normalized(scale(n), 0.0, vmax)
                } else {
                    NONE
                };
                Rectangle::new(
                    [(unit.of(c.t0), k as f64), (unit.of(c.t1), k as f64 + 1.0)],
                    colour.filled(),
                )
            })
        }))?;
        let k = MARKED_ORDER as f64;
        chart.draw_series(std::iter::once(Rectangle::new(
            [(start, k), (end, k + 1.0)],
            palette::VERMILLION.stroke_width(3),
        )))?;
        main.draw(&Text::new(
            "order 6 (the conntrack array's request) outlined",
            (80, 8),
            font(14).color(&palette::VERMILLION),
        ))?;

        let decades = (vmax.ceil() as u32).max(1);
        let ticks = (0..decades).map(|d| scale(10f64.powi(d as i32))).collect();
        viridis_bar(
            &bar,
            (0.0, vmax),
            ticks,
            &|v| tick(&(10f64.powf(*v) - 1.0).round()),
            "free blocks (log scale; grey: 0)",
        )
    }
}

/// Writes `freeblocks-<node>-<zone>.{png,svg}` for every zone in `rows`.
pub fn plot(rows: &[BuddyRow], title: &Title, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let mut zones: BTreeMap<(u32, &str), Vec<&BuddyRow>> = BTreeMap::new();
    for row in rows {
        zones.entry((row.node, &row.zone)).or_default().push(row);
    }
    let mut written = Vec::new();
    for ((node, zone), rows) in zones {
        let fig = FreeBlocks::new(
            &rows,
            title.of(&format!("Free blocks per order, node {node} zone {zone}")),
        );
        written.extend(save(
            &fig,
            out,
            &format!("freeblocks-{node}-{}", file_safe(zone)),
        )?);
    }
    Ok(written)
}
