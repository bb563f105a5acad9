//! Reclaim and compaction activity over time (`activity`), as rates per hour from the cumulative
//! counters of vmstat.csv. Above, pages reclaimed (pgsteal, kswapd plus direct, and the direct
//! part alone); below, direct compaction stalls and direct reclaim stalls (allocstall). Stalls are
//! allocations that had to do the work themselves: when they climb, the free lists no longer
//! serve the requests.

use super::data::{Title, VmstatRow};
use super::{font, palette, range, save, steps, tick, DrawError, Figure, PlotError, TimeUnit};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// At most this many rate intervals; more samples are merged.
const MAX_INTERVALS: usize = 120;

/// Rates per hour over one interval.
struct Interval {
    t0: f64,
    t1: f64,
    pgsteal: f64,
    pgsteal_direct: f64,
    compact_stall: f64,
    allocstall: f64,
}

/// A rate's legend name, value and colour.
type Series = (&'static str, fn(&Interval) -> f64, RGBColor);

/// The figure.
pub struct Activity {
    title: String,
    unit: TimeUnit,
    intervals: Vec<Interval>,
}

impl Activity {
    /// Rates between samples of `rows` (in time order), merged down to at most 120 intervals.
    pub fn new(rows: &[VmstatRow], title: String) -> Activity {
        let stride = rows.len().div_ceil(MAX_INTERVALS).max(1);
        let picked: Vec<&VmstatRow> = rows
            .iter()
            .step_by(stride)
            .chain(
                rows.last()
                    .filter(|_| !(rows.len() - 1).is_multiple_of(stride)),
            )
            .collect();
        let intervals = picked
            .windows(2)
            .filter(|w| w[1].time_s > w[0].time_s)
            .map(|w| {
                let (a, b) = (w[0], w[1]);
                let per_h =
                    |x: u64, y: u64| y.saturating_sub(x) as f64 * 3600.0 / (b.time_s - a.time_s);
                Interval {
                    t0: a.time_s,
                    t1: b.time_s,
                    pgsteal: per_h(
                        a.pgsteal_kswapd + a.pgsteal_direct,
                        b.pgsteal_kswapd + b.pgsteal_direct,
                    ),
                    pgsteal_direct: per_h(a.pgsteal_direct, b.pgsteal_direct),
                    compact_stall: per_h(a.compact_stall, b.compact_stall),
                    allocstall: per_h(a.allocstall, b.allocstall),
                }
            })
            .collect();
        let end = rows.last().map_or(0.0, |r| r.time_s);
        Activity {
            title,
            unit: TimeUnit::for_span(end),
            intervals,
        }
    }

    /// The step line of one rate.
    fn line(&self, rate: impl Fn(&Interval) -> f64) -> Vec<(f64, f64)> {
        let unit = self.unit;
        let mut points = steps(self.intervals.iter().map(|i| (unit.of(i.t0), rate(i))));
        if let Some(last) = self.intervals.last() {
            points.push((unit.of(last.t1), rate(last)));
        }
        points
    }
}

impl Figure for Activity {
    fn size(&self) -> (u32, u32) {
        (1100, 700)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let panels = root.split_evenly((2, 1));
        let unit = self.unit;
        let x = range(0.0, unit.of(self.intervals.last().map_or(0.0, |i| i.t1)));
        let groups: [(&str, [Series; 2]); 2] = [
            (
                "pages reclaimed per hour",
                [
                    ("pgsteal (kswapd + direct)", |i| i.pgsteal, palette::BLUE),
                    ("pgsteal_direct", |i| i.pgsteal_direct, palette::VERMILLION),
                ],
            ),
            (
                "stalls per hour",
                [
                    (
                        "compact_stall (direct compaction)",
                        |i| i.compact_stall,
                        palette::GREEN,
                    ),
                    (
                        "allocstall (direct reclaim)",
                        |i| i.allocstall,
                        palette::PURPLE,
                    ),
                ],
            ),
        ];
        for (area, (ydesc, series)) in panels.iter().zip(groups) {
            let ymax = self
                .intervals
                .iter()
                .flat_map(|i| series.iter().map(move |(_, rate, _)| rate(i)))
                .fold(0.0, f64::max)
                * 1.15;
            let mut chart = ChartBuilder::on(area)
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(90)
                .build_cartesian_2d(x.clone(), range(0.0, ymax))?;
            chart
                .configure_mesh()
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .x_desc(unit.label())
                .y_desc(ydesc)
                .label_style(font(14))
                .axis_desc_style(font(15))
                .draw()?;
            for (name, rate, colour) in series {
                chart
                    .draw_series(LineSeries::new(self.line(rate), colour.stroke_width(2)))?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(font(13))
                .draw()?;
        }
        Ok(())
    }
}

/// Writes `activity.{png,svg}` (nothing with fewer than two samples: no rate).
pub fn plot(rows: &[VmstatRow], title: &Title, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    if rows.len() < 2 {
        return Ok(Vec::new());
    }
    let fig = Activity::new(rows, title.of("Reclaim and compaction activity"));
    save(&fig, out, "activity")
}
