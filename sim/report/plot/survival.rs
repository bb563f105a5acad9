//! Survival curves of a sweep (`survival`): for each grid point, the Kaplan–Meier estimate of the
//! probability that a run has not yet seen its first conntrack-cache failure by a given time, a
//! step line with its 90 % pointwise interval as a shaded band. A curve that stays at 1 never
//! failed; the time where a curve crosses 0.5 is the median time to first failure. The legend
//! goes to the corner the curves cross least ([`legend_corner`]).

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

/// The top of the y axis.
const YMAX: f64 = 1.05;

/// The corner for the legend: of lower left, lower right, upper right (upper left is where
/// every curve starts), the first whose box (45 % of the width, 8 % of the height per curve
/// plus one) no curve's step line or band edge crosses, else the one crossed by fewest.
fn legend_corner(curves: &[Curve]) -> SeriesLabelPosition {
    let t_end = end(curves).max(f64::MIN_POSITIVE);
    let w = 0.45 * t_end;
    let h = (0.08 * (curves.len() + 1) as f64).min(0.9) * YMAX;
    let corners = [
        (SeriesLabelPosition::LowerLeft, (0.0, w), (0.0, h)),
        (
            SeriesLabelPosition::LowerRight,
            (t_end - w, t_end),
            (0.0, h),
        ),
        (
            SeriesLabelPosition::UpperRight,
            (t_end - w, t_end),
            (YMAX - h, YMAX),
        ),
    ];
    // Step segments of every line: horizontal to the next step's time, then vertical.
    let crossings = |(x0, x1): (f64, f64), (y0, y1): (f64, f64)| {
        let mut n = 0;
        for c in curves {
            for pick in 1..4 {
                for (i, s) in c.steps.iter().enumerate() {
                    let next = c.steps.get(i + 1).unwrap_or(s);
                    let (ta, tb, v, vn) = (s[0], next[0].max(s[0]), s[pick], next[pick]);
                    let horizontal = ta <= x1 && tb >= x0 && v >= y0 && v <= y1;
                    let vertical = tb >= x0 && tb <= x1 && v.max(vn) >= y0 && v.min(vn) <= y1;
                    n += usize::from(horizontal || vertical);
                }
            }
        }
        n
    };
    corners
        .iter()
        .map(|(pos, x, y)| (crossings(*x, *y), pos))
        .min_by_key(|(n, _)| *n)
        .map_or(SeriesLabelPosition::LowerLeft, |(_, p)| p.clone())
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
            .build_cartesian_2d(range(0.0, unit.of(end(self.curves))), 0.0..YMAX)?;
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
            .position(legend_corner(self.curves))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(steps: &[(f64, f64)]) -> Curve {
        Curve {
            point: "p".into(),
            steps: steps.iter().map(|&(t, s)| [t, s, s, s]).collect(),
        }
    }

    /// Curves that fall to 0 early fill the lower left: the legend goes lower right; curves
    /// that stay high, or level off above the legend's box, leave the lower left free.
    #[test]
    fn the_legend_goes_where_no_curve_is() {
        let fast = [curve(&[(0.0, 1.0), (10.0, 0.0), (100.0, 0.0)])];
        assert!(matches!(
            legend_corner(&fast),
            SeriesLabelPosition::UpperRight
        ));
        let slow = [curve(&[(0.0, 1.0), (90.0, 0.9), (100.0, 0.9)])];
        assert!(matches!(
            legend_corner(&slow),
            SeriesLabelPosition::LowerLeft
        ));
        let late = [curve(&[
            (0.0, 1.0),
            (30.0, 0.5),
            (60.0, 0.05),
            (100.0, 0.05),
        ])];
        assert!(matches!(
            legend_corner(&late),
            SeriesLabelPosition::LowerLeft
        ));
    }
}
