//! Survival curves of a sweep (`survival`): for each grid point, the Kaplan–Meier estimate of the
//! probability that a run has not yet seen its first conntrack-cache failure by a given time, a
//! step line with its 90 % pointwise interval as a shaded band. A curve that stays at 1 never
//! failed; the time where a curve crosses 0.5 is the median time to first failure.

use super::data::{Curve, Title};
use super::{font, palette, range, save, steps, tick, DrawError, Figure, PlotError, TimeUnit};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// The figure.
pub struct Survival<'a> {
    title: String,
    unit: TimeUnit,
    curves: &'a [Curve],
}

impl<'a> Survival<'a> {
    pub fn new(curves: &'a [Curve], title: String) -> Survival<'a> {
        Survival {
            title,
            unit: TimeUnit::for_span(end(curves)),
            curves,
        }
    }
}

/// The last step's time over all curves.
fn end(curves: &[Curve]) -> f64 {
    curves
        .iter()
        .flat_map(|c| c.steps.iter().map(|s| s[0]))
        .fold(0.0, f64::max)
}

impl Figure for Survival<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 650)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let unit = self.unit;
        let mut chart = ChartBuilder::on(&root)
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(range(0.0, unit.of(end(self.curves))), 0.0..1.05)?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc(unit.label())
            .y_desc("P(no failure yet)")
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        let line = |pick: usize, c: &Curve| steps(c.steps.iter().map(|s| (unit.of(s[0]), s[pick])));
        for (i, curve) in self.curves.iter().enumerate() {
            let colour = palette::series(i);
            let mut band = line(3, curve);
            band.extend(line(2, curve).into_iter().rev());
            chart.draw_series(std::iter::once(Polygon::new(
                band,
                colour.mix(0.15).filled(),
            )))?;
        }
        for (i, curve) in self.curves.iter().enumerate() {
            let colour = palette::series(i);
            // Past the palette's eight colours, lines are thin.
            let width = if i < palette::SERIES.len() { 3 } else { 1 };
            chart
                .draw_series(LineSeries::new(line(1, curve), colour.stroke_width(width)))?
                .label(curve.point.replace(';', ", "))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(13))
            .draw()?;
        Ok(())
    }
}

/// Writes `survival.{png,svg}` (nothing without a curve).
pub fn plot(curves: &[Curve], title: &Title, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    if curves.is_empty() {
        return Ok(Vec::new());
    }
    let fig = Survival::new(
        curves,
        title.of("Survival until the first conntrack failure (90 % bands)"),
    );
    save(&fig, out, "survival")
}
