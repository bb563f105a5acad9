//! The physical map of a zone (`pageblocks-<zone>-start|end`): every pageblock a cell in PFN
//! order, rows of 64 (more per row on big zones), the colour its migrate type, the shade how much
//! of it is free (full colour: nothing free, palest: all free). Unmovable and reclaimable blocks
//! scattered through the movable ones are what keeps high orders from forming.

use super::data::{Pageblock, Title};
use super::{file_safe, font, mib, palette, save, tick, DrawError, Figure, PlotError, Ticks};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Zones with more pageblocks than this are drawn (the Normal zone always).
const MIN_BLOCKS: usize = 64;
/// Rows are widened (64, 128, … blocks) until there are at most this many.
const MAX_ROWS: usize = 128;
/// How much of the way to white a cell goes per free level (see [`free_level`]).
const SHADES: [f64; 5] = [0.0, 0.3, 0.5, 0.7, 0.88];
const SHADE_NAMES: [&str; 5] = [
    "none free",
    "≤ 1/3 free",
    "≤ 2/3 free",
    "< all free",
    "all free",
];
/// A block with no pages (a hole).
const HOLE: RGBColor = RGBColor(200, 200, 200);

/// The colour of a migrate type as pagetypeinfo names it.
fn type_colour(migratetype: &str) -> RGBColor {
    match migratetype {
        "Unmovable" => palette::VERMILLION,
        "Reclaimable" => palette::ORANGE,
        "Movable" => palette::BLUE,
        "Reserve" | "HighAtomic" => palette::PURPLE,
        "CMA" => palette::GREEN,
        "Isolate" => palette::BLACK,
        _ => palette::YELLOW,
    }
}

/// 0 when nothing is free, 4 when all is, 1–3 for up to a third, two thirds, less than all.
fn free_level(block: &Pageblock) -> usize {
    let (free, pages) = (block.free_pages, block.pages);
    if free == 0 {
        0
    } else if free >= pages {
        4
    } else if 3 * free <= pages {
        1
    } else if 3 * free <= 2 * pages {
        2
    } else {
        3
    }
}

fn shade(colour: RGBColor, level: usize) -> RGBColor {
    let f = SHADES[level];
    let mix = |c: u8| (c as f64 + (255.0 - c as f64) * f).round() as u8;
    RGBColor(mix(colour.0), mix(colour.1), mix(colour.2))
}

/// The map of one zone.
pub struct PageblockMap<'a> {
    title: String,
    blocks: Vec<&'a Pageblock>,
    per_row: usize,
    cell_h: u32,
}

impl<'a> PageblockMap<'a> {
    /// The map of `blocks` (one zone's, in PFN order).
    pub fn new(blocks: Vec<&'a Pageblock>, title: String) -> PageblockMap<'a> {
        let mut per_row = MIN_BLOCKS;
        while blocks.len().div_ceil(per_row) > MAX_ROWS {
            per_row *= 2;
        }
        let rows = blocks.len().div_ceil(per_row).max(1) as u32;
        PageblockMap {
            title,
            blocks,
            per_row,
            cell_h: (640 / rows).clamp(4, 40),
        }
    }

    fn rows(&self) -> usize {
        self.blocks.len().div_ceil(self.per_row).max(1)
    }
}

impl Figure for PageblockMap<'_> {
    fn size(&self) -> (u32, u32) {
        (1100, 40 + 20 + self.rows() as u32 * self.cell_h + 55 + 110)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawError> {
        let root = root.titled(&self.title, font(20))?;
        let (_, h) = root.dim_in_pixel();
        let (map, legend) = root.split_vertically(h - 110);
        let rows = self.rows();
        let per_row = self.per_row;
        let label_every = rows.div_ceil(16).max(1);
        let row_keys: Vec<f64> = (0..rows)
            .step_by(label_every)
            .map(|r| r as f64 + 0.5)
            .collect();
        let row_start: Vec<u64> = self
            .blocks
            .chunks(per_row)
            .map(|row| row[0].start_pfn)
            .collect();
        let block_mib = mib(self.blocks.iter().map(|b| b.pages).max().unwrap_or(0));
        let mut chart = ChartBuilder::on(&map)
            .margin(20)
            .margin_right(40)
            .x_label_area_size(45)
            .y_label_area_size(100)
            .build_cartesian_2d(0.0..per_row as f64, Ticks::new(rows as f64..0.0, row_keys))?;
        let address = |v: &f64| {
            row_start.get(*v as usize).map_or(String::new(), |&pfn| {
                format!(
                    "{:.2}",
                    (pfn * super::PAGE_SIZE) as f64 / (1u64 << 30) as f64
                )
            })
        };
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .disable_mesh()
            .x_desc(format!(
                "pageblock within the row ({per_row} per row, {block_mib} MiB each)"
            ))
            .y_desc("row start (GiB)")
            .y_label_formatter(&address)
            .label_style(font(13))
            .axis_desc_style(font(15))
            .draw()?;
        // Runs of equal cells in a row are one rectangle (smaller SVGs).
        let mut cells = Vec::new();
        for (r, row) in self.blocks.chunks(per_row).enumerate() {
            let colour = |b: &Pageblock| {
                if b.pages == 0 {
                    HOLE
                } else {
                    shade(type_colour(&b.migratetype), free_level(b))
                }
            };
            let mut start = 0;
            for i in 1..=row.len() {
                if i == row.len() || colour(row[i]) != colour(row[start]) {
                    cells.push(Rectangle::new(
                        [(start as f64, r as f64), (i as f64, r as f64 + 1.0)],
                        colour(row[start]).filled(),
                    ));
                    start = i;
                }
            }
        }
        chart.draw_series(cells)?;

        // Legend: the migrate types present, then the shades.
        let mut types: Vec<&str> = Vec::new();
        for b in &self.blocks {
            if !types.contains(&b.migratetype.as_str()) {
                types.push(&b.migratetype);
            }
        }
        types.sort_unstable();
        let swatch = |x: i32, y: i32, colour: RGBColor| {
            Rectangle::new([(x, y), (x + 22, y + 16)], colour.filled())
        };
        legend.draw(&Text::new("migrate type:", (30, 12), font(14)))?;
        for (i, name) in types.iter().enumerate() {
            let x = 150 + 150 * i as i32;
            legend.draw(&swatch(x, 10, type_colour(name)))?;
            legend.draw(&Text::new(name.to_string(), (x + 28, 12), font(14)))?;
        }
        legend.draw(&Text::new("free (Movable):", (30, 52), font(14)))?;
        for (level, name) in SHADE_NAMES.iter().enumerate() {
            let x = 150 + 150 * level as i32;
            legend.draw(&swatch(x, 50, shade(palette::BLUE, level)))?;
            legend.draw(&Rectangle::new(
                [(x, 50), (x + 22, 66)],
                BLACK.stroke_width(1),
            ))?;
            legend.draw(&Text::new(name.to_string(), (x + 28, 52), font(14)))?;
        }
        Ok(())
    }
}

/// Writes the maps of the Normal zone and every zone of more than 64 pageblocks in `blocks`,
/// `when` being `start` or `end`: `pageblocks-<zone>-<when>` (`pageblocks-<node>-<zone>-<when>`
/// when the file has several nodes).
pub fn plot(
    blocks: &[Pageblock],
    when: &str,
    title: &Title,
    out: &Path,
) -> Result<Vec<PathBuf>, PlotError> {
    let mut zones: BTreeMap<(u32, &str), Vec<&Pageblock>> = BTreeMap::new();
    for b in blocks {
        zones.entry((b.node, &b.zone)).or_default().push(b);
    }
    let nodes = zones.keys().map(|(n, _)| n).max() != zones.keys().map(|(n, _)| n).min();
    let mut written = Vec::new();
    for ((node, zone), mut blocks) in zones {
        if zone != "Normal" && blocks.len() <= MIN_BLOCKS {
            continue;
        }
        blocks.sort_by_key(|b| b.start_pfn);
        let fig = PageblockMap::new(
            blocks,
            title.of(&format!(
                "Pageblocks of node {node} zone {zone} at the {when}"
            )),
        );
        let zone = file_safe(zone);
        let stem = if nodes {
            format!("pageblocks-{node}-{zone}-{when}")
        } else {
            format!("pageblocks-{zone}-{when}")
        };
        written.extend(save(&fig, out, &stem)?);
    }
    Ok(written)
}
