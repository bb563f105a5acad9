//! Plots of a run's, a sweep's or a comparison's output folder (the files of book/src/reference/outputs.md), each
//! as PNG and SVG.
//!
//! The plots are model-free: [`data`] reads the CSV/JSONL files back with small parsers, and each
//! plot module turns the parsed rows into a figure. A figure is drawn once per backend (bitmap and
//! SVG) through [`Figure`], so both files show the same thing. Text is set in DejaVu Sans, which
//! is bundled (`fonts/`, Bitstream Vera licence) and registered with plotters, so PNGs render on a
//! headless machine without system fonts. Colours are the Okabe–Ito palette for categories and
//! viridis for magnitudes, both readable with the common colour-vision deficiencies.
//!
//! Output is deterministic: no timestamps, rows in file order, groups in sorted order; every file
//! is written to a temporary name in the output folder and renamed into place.

pub mod activity;
pub mod conntrack;
pub mod data;
pub mod freeblocks;
pub mod pageblocks;
pub mod replay;
pub mod survival;
pub mod sweep;
pub mod validation;

use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Why plotting failed.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{}: {source}", file.display())]
    Io {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {what}", file.display())]
    Parse {
        file: PathBuf,
        line: usize,
        what: String,
    },
    #[error("{}: drawing failed: {what}", file.display())]
    Draw { file: PathBuf, what: String },
}

/// A drawing failure inside a figure, whatever the backend (named with its file by [`save`]).
#[derive(Debug)]
pub struct DrawError(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(err: DrawingAreaErrorKind<E>) -> Self {
        DrawError(err.to_string())
    }
}

/// One figure, drawable on any plotters backend.
pub trait Figure {
    /// Width and height in pixels (PNG) or user units (SVG).
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError>;
}

/// The Okabe–Ito colours (Okabe & Ito 2008), distinguishable with colour-vision deficiencies.
pub mod palette {
    use plotters::style::RGBColor;
    pub const BLACK: RGBColor = RGBColor(0, 0, 0);
    pub const ORANGE: RGBColor = RGBColor(230, 159, 0);
    pub const SKY_BLUE: RGBColor = RGBColor(86, 180, 233);
    pub const GREEN: RGBColor = RGBColor(0, 158, 115);
    pub const YELLOW: RGBColor = RGBColor(240, 228, 66);
    pub const BLUE: RGBColor = RGBColor(0, 114, 178);
    pub const VERMILLION: RGBColor = RGBColor(213, 94, 0);
    pub const PURPLE: RGBColor = RGBColor(204, 121, 167);
    /// Colours for series in order of use (the yellow and black last: weakest on white, text).
    pub const SERIES: [RGBColor; 8] = [
        BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY_BLUE, YELLOW, BLACK,
    ];
    /// The `i`-th series colour, cycling.
    pub fn series(i: usize) -> RGBColor {
        SERIES[i % SERIES.len()]
    }
}

/// The font family the bundled DejaVu Sans is registered under.
const FAMILY: &str = "sans-serif";
static FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Registers the bundled font with plotters once.
fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
            .map_err(|_| "the bundled DejaVu Sans font does not parse".to_string())
    })
    .clone()
}

/// The text style of `size` pixels in the bundled font.
pub fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// A time axis unit chosen from the longest time shown: seconds, minutes or hours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeUnit {
    /// Seconds per unit.
    pub seconds: f64,
    /// The unit as an axis label shows it (`s`, `min`, `h`).
    pub name: &'static str,
}

impl TimeUnit {
    /// Hours past 3 h, minutes past 3 min, else seconds.
    pub fn for_span(max_s: f64) -> TimeUnit {
        if max_s > 3.0 * 3600.0 {
            TimeUnit {
                seconds: 3600.0,
                name: "h",
            }
        } else if max_s > 180.0 {
            TimeUnit {
                seconds: 60.0,
                name: "min",
            }
        } else {
            TimeUnit {
                seconds: 1.0,
                name: "s",
            }
        }
    }

    /// `time_s` in this unit.
    pub fn of(self, time_s: f64) -> f64 {
        time_s / self.seconds
    }

    /// The axis description: `time (h)`.
    pub fn label(self) -> String {
        format!("simulated time ({})", self.name)
    }
}

/// The range `lo..hi`, or `lo..lo + 1` when that would be empty.
fn range(lo: f64, hi: f64) -> std::ops::Range<f64> {
    lo..if hi > lo { hi } else { lo + 1.0 }
}

/// The points of a step line through `points`: each value holds until the next point.
pub fn steps(points: impl IntoIterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut line: Vec<(f64, f64)> = Vec::new();
    for (x, y) in points {
        if let Some(&(_, prev)) = line.last() {
            line.push((x, prev));
        }
        line.push((x, y));
    }
    line
}

/// `v` with about three significant digits (`1234`, `12.3`, `1.23`, `0.12`).
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// An f64 axis whose ticks are exactly `at` (plotters' `with_key_points` leaves f64 axes without
/// a label formatter); labels come from the mesh's label formatter.
pub struct Ticks {
    inner: plotters::coord::types::RangedCoordf64,
    at: Vec<f64>,
}

impl Ticks {
    pub fn new(range: std::ops::Range<f64>, at: Vec<f64>) -> Ticks {
        Ticks {
            inner: range.into(),
            at,
        }
    }
}

impl plotters::coord::ranged1d::Ranged for Ticks {
    type ValueType = f64;
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        self.at.clone()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

/// An axis tick label: `20`, `0.25`, `35k`, `1.2M` (no trailing zeros).
pub fn tick(v: &f64) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    match v.abs() {
        a if a >= 1e6 => format!("{}M", trim(v / 1e6)),
        a if a >= 1e4 => format!("{}k", trim(v / 1e3)),
        _ => trim(*v),
    }
}

/// Bytes per page: the plots assume x86-64's 4 KiB pages.
pub const PAGE_SIZE: u64 = 4096;

/// `pages` in MiB.
pub fn mib(pages: u64) -> f64 {
    (pages * PAGE_SIZE) as f64 / (1 << 20) as f64
}

/// Writes `fig` as `<stem>.png` and `<stem>.svg` in `out`, each atomically, and returns both
/// paths.
pub fn save(fig: &impl Figure, out: &Path, stem: &str) -> Result<Vec<PathBuf>, PlotError> {
    let png = out.join(format!("{stem}.png"));
    let svg = out.join(format!("{stem}.svg"));
    let draw_err = |file: &Path| {
        let file = file.to_path_buf();
        move |what: String| PlotError::Draw { file, what }
    };
    register_font().map_err(draw_err(&png))?;
    std::fs::create_dir_all(out).map_err(|source| PlotError::Io {
        file: out.to_path_buf(),
        source,
    })?;
    let (w, h) = fig.size();

    // The bitmap backend picks its encoder from the extension, so the temporary name ends in .png.
    let png_tmp = out.join(format!(".{stem}.tmp.png"));
    {
        let root = BitMapBackend::new(&png_tmp, (w, h)).into_drawing_area();
        draw_on(fig, &root)
            .and_then(|()| root.present().map_err(|e| DrawError(e.to_string())))
            .map_err(|e| draw_err(&png)(e.0))?;
    }
    rename(&png_tmp, &png)?;

    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        draw_on(fig, &root)
            .and_then(|()| root.present().map_err(|e| DrawError(e.to_string())))
            .map_err(|e| draw_err(&svg)(e.0))?;
    }
    let svg_tmp = out.join(format!(".{stem}.tmp.svg"));
    std::fs::write(&svg_tmp, text).map_err(|source| PlotError::Io {
        file: svg_tmp.clone(),
        source,
    })?;
    rename(&svg_tmp, &svg)?;
    Ok(vec![png, svg])
}

fn draw_on<DB: DrawingBackend>(
    fig: &impl Figure,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), DrawError> {
    root.fill(&WHITE)?;
    fig.draw(root)
}

fn rename(from: &Path, to: &Path) -> Result<(), PlotError> {
    std::fs::rename(from, to).map_err(|source| PlotError::Io {
        file: to.to_path_buf(),
        source,
    })
}

/// Renders every plot whose input files exist in `dir` into `dir/plots/` and returns the files
/// written, in a fixed order.
pub fn plot_dir(dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    plot_dir_to(dir, &dir.join("plots"))
}

/// Renders every plot whose input files exist in `dir` into `out` (created when there is
/// something to plot) and
/// returns the files written, in a fixed order.
pub fn plot_dir_to(dir: &Path, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    if !dir.is_dir() {
        return Err(PlotError::Io {
            file: dir.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder"),
        });
    }
    // Everything is read before anything is drawn: bad input writes no file.
    let title = data::Title::load(dir)?;
    let read = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let buddyinfo = read("buddyinfo.csv")
        .map(|p| data::read_buddyinfo(&p))
        .transpose()?;
    let attempts = read("events.jsonl")
        .filter(|_| buddyinfo.is_some())
        .map(|p| data::read_attempts(&p))
        .transpose()?;
    let pageblocks = [
        ("start", "pageblocks-start.csv"),
        ("end", "pageblocks-end.csv"),
    ]
    .into_iter()
    .filter_map(|(when, file)| read(file).map(|p| data::read_pageblocks(&p).map(|b| (when, b))))
    .collect::<Result<Vec<_>, _>>()?;
    let vmstat = read("vmstat.csv")
        .map(|p| data::read_vmstat(&p))
        .transpose()?;
    let survival = read("survival.csv")
        .map(|p| data::read_survival(&p))
        .transpose()?;
    let sweep = read("sweep.csv")
        .map(|p| data::read_sweep(&p))
        .transpose()?;
    let free = read("comparison-free.csv")
        .map(|p| data::read_comparison_free(&p))
        .transpose()?;
    let counts = read("comparison-counts.csv")
        .map(|p| data::read_comparison_counts(&p))
        .transpose()?;

    let mut written = Vec::new();
    if let Some(rows) = &buddyinfo {
        written.extend(freeblocks::plot(rows, &title, out)?);
        if let Some(attempts) = &attempts {
            written.extend(conntrack::plot(rows, attempts, &title, out)?);
        }
    }
    for (when, blocks) in &pageblocks {
        written.extend(pageblocks::plot(blocks, when, &title, out)?);
    }
    if let Some(rows) = &vmstat {
        written.extend(activity::plot(rows, &title, out)?);
    }
    if let Some(curves) = &survival {
        written.extend(survival::plot(curves, &title, out)?);
    }
    if let Some(table) = &sweep {
        written.extend(sweep::plot(table, &title, out)?);
    }
    if free.is_some() || counts.is_some() {
        let (free, counts) = (free.unwrap_or_default(), counts.unwrap_or_default());
        written.extend(validation::plot(&free, &counts, out)?);
    }
    Ok(written)
}

/// `name` with every character other than ASCII letters, digits, `.`, `_` and `-` replaced by
/// `_`, for file names.
pub fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A vertical viridis colour bar over `[lo, hi]` drawn in `area`, with ticks at `ticks` labelled
/// by `label`, and `caption` along it.
fn viridis_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (lo, hi): (f64, f64),
    ticks: Vec<f64>,
    label: &dyn Fn(&f64) -> String,
    caption: &str,
) -> Result<(), DrawError> {
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let mut chart = ChartBuilder::on(area)
        .margin_top(50)
        .margin_bottom(60)
        .margin_right(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..1.0, Ticks::new(lo..hi, ticks))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_formatter(label)
        .y_desc(caption)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()?;
    let steps = 64;
    chart.draw_series((0..steps).map(|i| {
        let a = lo + (hi - lo) * i as f64 / steps as f64;
        let b = lo + (hi - lo) * (i + 1) as f64 / steps as f64;
        let colour = ViridisRGB::get_color_normalized(a, lo, hi);
        Rectangle::new([(0.0, a), (1.0, b)], colour.filled())
    }))?;
    Ok(())
}
