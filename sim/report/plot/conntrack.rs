//! The conntrack-cache attempts against the state of the Normal zone (`conntrack`): two panels
//! over one time axis. Above, the Normal zone's free memory with its watermarks on a log scale
//! (free memory spans GiB, the watermarks ~100 MiB: a linear axis would flatten them onto 0),
//! failures marked where they happened; below, the largest order with a free block, and every attempt at the order
//! it asked for (successes as circles, failures as crosses). A failure where the order asked is
//! above the largest free order is a fragmentation failure, not a shortage of memory.

use super::data::{Attempt, BuddyRow, Title};
use super::{font, mib, palette, range, save, steps, tick, DrawError, Figure, PlotError, TimeUnit};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Lines through more samples than this are drawn thin.
const DENSE: usize = 300;

/// The zone the plot follows (summed over nodes).
const ZONE: &str = "Normal";

/// The Normal zones of all nodes at one sample.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    time_s: f64,
    free_mib: f64,
    /// min, low, high watermarks in MiB.
    marks: [f64; 3],
    /// The largest order with a free block (-1 when none).
    largest: i32,
}

/// The figure.
pub struct Conntrack<'a> {
    title: String,
    samples: Vec<Sample>,
    attempts: &'a [Attempt],
    unit: TimeUnit,
    /// The last sample's or attempt's time.
    end_s: f64,
}

impl<'a> Conntrack<'a> {
    /// The Normal zones' samples of `rows` (summed over nodes) and `attempts`.
    pub fn new(rows: &[BuddyRow], attempts: &'a [Attempt], title: String) -> Conntrack<'a> {
        let mut samples: Vec<Sample> = Vec::new();
        for row in rows.iter().filter(|r| r.zone == ZONE) {
            let largest = row.largest_free_order().map_or(-1, |k| k as i32);
            let marks = [mib(row.min), mib(row.low), mib(row.high)];
            match samples.last_mut() {
                Some(s) if s.time_s == row.time_s => {
                    s.free_mib += mib(row.nr_free_pages);
                    for (m, add) in s.marks.iter_mut().zip(marks) {
                        *m += add;
                    }
                    s.largest = s.largest.max(largest);
                }
                _ => samples.push(Sample {
                    time_s: row.time_s,
                    free_mib: mib(row.nr_free_pages),
                    marks,
                    largest,
                }),
            }
        }
        let end = samples
            .last()
            .map(|s| s.time_s)
            .into_iter()
            .chain(attempts.last().map(|a| a.time_s))
            .fold(0.0, f64::max);
        Conntrack {
            title,
            samples,
            attempts,
            unit: TimeUnit::for_span(end),
            end_s: end,
        }
    }

    /// The free memory at the last sample at or before `time_s` (the first sample before any).
    fn free_at(&self, time_s: f64) -> f64 {
        let i = self.samples.partition_point(|s| s.time_s <= time_s);
        self.samples
            .get(i.saturating_sub(1))
            .map_or(0.0, |s| s.free_mib)
    }
}

impl Figure for Conntrack<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let (top, bottom) = root.split_vertically(400);
        let unit = self.unit;
        let x = range(0.0, unit.of(self.end_s));
        let failures = || self.attempts.iter().filter(|a| !a.ok);
        // Thick polylines through many sharp turns grow miter spikes in plotters: dense lines are
        // drawn 1 pixel wide.
        let width = if self.samples.len() > DENSE { 1 } else { 2 };
        let successes = || self.attempts.iter().filter(|a| a.ok);

        // Free memory and watermarks, below the axis clamped to its bottom.
        let (lo, hi) = y_range(&self.samples);
        let y = |v: f64| v.max(lo);
        let mut chart = ChartBuilder::on(&top)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(x.clone(), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc(unit.label())
            .y_desc(format!("free memory in {ZONE} (MiB, log scale)"))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                self.samples
                    .iter()
                    .map(|s| (unit.of(s.time_s), y(s.free_mib))),
                palette::BLUE.stroke_width(width),
            ))?
            .label("free")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], palette::BLUE.stroke_width(width))
            });
        for (i, (name, colour)) in [
            ("min watermark", palette::VERMILLION),
            ("low watermark", palette::ORANGE),
            ("high watermark", palette::GREEN),
        ]
        .into_iter()
        .enumerate()
        {
            chart
                .draw_series(LineSeries::new(
                    self.samples
                        .iter()
                        .map(|s| (unit.of(s.time_s), y(s.marks[i]))),
                    colour.stroke_width(1),
                ))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour));
        }
        chart
            .draw_series(failures().map(|a| {
                Cross::new(
                    (unit.of(a.time_s), y(self.free_at(a.time_s))),
                    6,
                    palette::VERMILLION.stroke_width(2),
                )
            }))?
            .label("cache creation failed")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, palette::VERMILLION.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(13))
            .draw()?;

        // Largest free order and the attempts.
        let mut chart = ChartBuilder::on(&bottom)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(80)
            .build_cartesian_2d(x, -0.5..11.5)?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .x_desc(unit.label())
            .y_desc("order")
            .y_labels(12)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                steps(
                    self.samples
                        .iter()
                        .map(|s| (unit.of(s.time_s), s.largest as f64)),
                ),
                palette::BLACK.stroke_width(width),
            ))?
            .label(format!("largest free order in {ZONE}"))
            .legend(|(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 20, y)],
                    palette::BLACK.stroke_width(width),
                )
            });
        let order = |a: &Attempt| a.order.map_or(0.0, f64::from);
        chart
            .draw_series(successes().map(|a| {
                Circle::new(
                    (unit.of(a.time_s), order(a)),
                    4,
                    palette::GREEN.stroke_width(2),
                )
            }))?
            .label("cache created (order asked; small kmalloc at 0)")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, palette::GREEN.stroke_width(2)));
        chart
            .draw_series(failures().map(|a| {
                Cross::new(
                    (unit.of(a.time_s), order(a)),
                    6,
                    palette::VERMILLION.stroke_width(2),
                )
            }))?
            .label("cache creation failed")
            .legend(|(x, y)| Cross::new((x + 10, y), 5, palette::VERMILLION.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(13))
            .draw()?;
        Ok(())
    }
}

/// The top panel's log-scale y range in MiB: from half the lowest positive min watermark (so
/// the min line sits a clear band above the axis) to 1.5 × the largest free memory or high
/// watermark. Without a watermark, from 1/1000 of the top.
fn y_range(samples: &[Sample]) -> (f64, f64) {
    let hi = samples
        .iter()
        .map(|s| s.free_mib.max(s.marks[2]))
        .fold(1.0, f64::max)
        * 1.5;
    let min = samples
        .iter()
        .map(|s| s.marks[0])
        .filter(|&m| m > 0.0)
        .fold(f64::INFINITY, f64::min);
    let lo = if min.is_finite() {
        min / 2.0
    } else {
        hi / 1000.0
    };
    (lo, hi)
}

/// Writes `conntrack.{png,svg}` (nothing without a Normal zone sample or an attempt).
pub fn plot(
    rows: &[BuddyRow],
    attempts: &[Attempt],
    title: &Title,
    out: &Path,
) -> Result<Vec<PathBuf>, PlotError> {
    let fig = Conntrack::new(rows, attempts, title.of("Conntrack cache creations"));
    if fig.samples.is_empty() && attempts.is_empty() {
        return Ok(Vec::new());
    }
    save(&fig, out, "conntrack")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12 GiB free against ~100 MiB watermarks: each watermark line is at least 10 % of the
    /// axis height above the bottom and the lines are apart from one another.
    #[test]
    fn watermarks_stand_clear_of_the_axis() {
        let s = |free_mib: f64| Sample {
            time_s: 0.0,
            free_mib,
            marks: [90.0, 112.0, 135.0],
            largest: 10,
        };
        let (lo, hi) = y_range(&[s(12288.0), s(300.0)]);
        let at = |v: f64| (v.ln() - lo.ln()) / (hi.ln() - lo.ln());
        assert!(at(90.0) >= 0.1, "{}", at(90.0));
        assert!(at(135.0) - at(90.0) >= 0.04, "{}", at(135.0) - at(90.0));
        assert!(hi > 12288.0);
    }
}
