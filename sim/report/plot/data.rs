//! Readers for the output files the plots draw (book/src/reference/outputs.md): small CSV and JSONL parsers that
//! keep only the columns a plot needs. Errors name the file, the line and what was expected.

use super::PlotError;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Orders printed in buddyinfo.csv (`order_0` … `order_10`).
pub const ORDERS: usize = 11;

/// What a run or sweep folder is about, for plot titles.
#[derive(Clone, Debug, PartialEq)]
pub struct Title {
    /// `scenario (kernel K, seed S)`, or the folder's name when no summary is there.
    pub scenario: String,
}

#[derive(Deserialize)]
struct SummaryHead {
    scenario: String,
    kernel: String,
    seed: u64,
}

#[derive(Deserialize)]
struct ResultHead {
    summary: SummaryHead,
}

impl Title {
    /// From `summary.json` (a run), else the first line of `results.jsonl` (a sweep), else the
    /// folder's name.
    pub fn load(dir: &Path) -> Result<Title, PlotError> {
        let summary = dir.join("summary.json");
        if summary.is_file() {
            let text = read(&summary)?;
            let head: SummaryHead = serde_json::from_str(&text).map_err(|e| PlotError::Parse {
                file: summary.clone(),
                line: e.line(),
                what: format!("expected a run summary with scenario, kernel and seed: {e}"),
            })?;
            return Ok(Title {
                scenario: format!(
                    "{} (kernel {}, seed {})",
                    head.scenario, head.kernel, head.seed
                ),
            });
        }
        let results = dir.join("results.jsonl");
        if results.is_file() {
            let text = read(&results)?;
            if let Some(first) = text.lines().next() {
                let head: ResultHead =
                    serde_json::from_str(first).map_err(|e| PlotError::Parse {
                        file: results.clone(),
                        line: 1,
                        what: format!("expected a sweep result with a summary: {e}"),
                    })?;
                return Ok(Title {
                    scenario: format!("{} (kernel {})", head.summary.scenario, head.summary.kernel),
                });
            }
        }
        let name = dir
            .canonicalize()
            .ok()
            .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
            .unwrap_or_default();
        Ok(Title { scenario: name })
    }

    /// `what — scenario`.
    pub fn of(&self, what: &str) -> String {
        if self.scenario.is_empty() {
            what.to_string()
        } else {
            format!("{what} — {}", self.scenario)
        }
    }
}

fn read(file: &Path) -> Result<String, PlotError> {
    std::fs::read_to_string(file).map_err(|source| PlotError::Io {
        file: file.to_path_buf(),
        source,
    })
}

/// A value a CSV field holds.
trait Field: FromStr {
    /// What the field should look like, for errors.
    const EXPECTED: &'static str;
    /// Whether a parsed value is usable (no NaN or infinity).
    fn usable(&self) -> bool {
        true
    }
}

impl Field for u32 {
    const EXPECTED: &'static str = "a whole number";
}

impl Field for u64 {
    const EXPECTED: &'static str = "a whole number";
}

impl Field for f64 {
    const EXPECTED: &'static str = "a finite number";
    fn usable(&self) -> bool {
        self.is_finite()
    }
}

/// A CSV file as book/src/reference/outputs.md writes it: a header line, then comma-separated fields, no quoting.
struct Table {
    file: PathBuf,
    header: Vec<String>,
    /// (1-based line number, fields) per data line; blank lines are skipped.
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn read(file: &Path) -> Result<Table, PlotError> {
        let text = read(file)?;
        let mut lines = text.lines().enumerate();
        let header = match lines.next() {
            Some((_, h)) if !h.trim().is_empty() => {
                h.split(',').map(|f| f.trim().to_string()).collect()
            }
            _ => {
                return Err(PlotError::Parse {
                    file: file.to_path_buf(),
                    line: 1,
                    what: "expected a header line".into(),
                })
            }
        };
        let mut table = Table {
            file: file.to_path_buf(),
            header,
            rows: Vec::new(),
        };
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let fields: Vec<String> = line.split(',').map(|f| f.trim().to_string()).collect();
            if fields.len() != table.header.len() {
                return Err(table.error(
                    i + 1,
                    format!(
                        "expected {} fields as in the header, found {}",
                        table.header.len(),
                        fields.len()
                    ),
                ));
            }
            table.rows.push((i + 1, fields));
        }
        Ok(table)
    }

    fn error(&self, line: usize, what: String) -> PlotError {
        PlotError::Parse {
            file: self.file.clone(),
            line,
            what,
        }
    }

    /// The index of column `name`.
    fn col(&self, name: &str) -> Result<usize, PlotError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| self.error(1, format!("expected a column `{name}` in the header")))
    }

    /// Field `col` of the row at `line`, parsed as `T` and usable.
    fn get<T: Field>(
        &self,
        (line, fields): &(usize, Vec<String>),
        col: usize,
    ) -> Result<T, PlotError> {
        let field = &fields[col];
        field.parse().ok().filter(T::usable).ok_or_else(|| {
            self.error(
                *line,
                format!(
                    "column `{}`: expected {}, found `{field}`",
                    self.header[col],
                    T::EXPECTED
                ),
            )
        })
    }

    /// Like [`Table::get`], but an empty field is `None`.
    fn get_opt<T: Field>(
        &self,
        row: &(usize, Vec<String>),
        col: usize,
    ) -> Result<Option<T>, PlotError> {
        if row.1[col].is_empty() {
            Ok(None)
        } else {
            self.get(row, col).map(Some)
        }
    }
}

/// One row of buddyinfo.csv: a zone's free blocks per order at one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct BuddyRow {
    pub time_s: f64,
    pub node: u32,
    pub zone: String,
    pub nr_free_pages: u64,
    /// Free blocks of order 0..=10.
    pub free: [u64; ORDERS],
    /// Watermarks in pages.
    pub min: u64,
    pub low: u64,
    pub high: u64,
}

impl BuddyRow {
    /// The largest order with a free block, if any.
    pub fn largest_free_order(&self) -> Option<usize> {
        self.free.iter().rposition(|&n| n > 0)
    }
}

/// Reads buddyinfo.csv.
pub fn read_buddyinfo(file: &Path) -> Result<Vec<BuddyRow>, PlotError> {
    let t = Table::read(file)?;
    let (time, node, zone, nr_free) = (
        t.col("time_s")?,
        t.col("node")?,
        t.col("zone")?,
        t.col("nr_free_pages")?,
    );
    let orders = (0..ORDERS)
        .map(|k| t.col(&format!("order_{k}")))
        .collect::<Result<Vec<_>, _>>()?;
    let (min, low, high) = (t.col("min")?, t.col("low")?, t.col("high")?);
    t.rows
        .iter()
        .map(|row| {
            let mut free = [0; ORDERS];
            for (k, &col) in orders.iter().enumerate() {
                free[k] = t.get(row, col)?;
            }
            Ok(BuddyRow {
                time_s: t.get(row, time)?,
                node: t.get(row, node)?,
                zone: row.1[zone].clone(),
                nr_free_pages: t.get(row, nr_free)?,
                free,
                min: t.get(row, min)?,
                low: t.get(row, low)?,
                high: t.get(row, high)?,
            })
        })
        .collect()
}

/// One row of vmstat.csv: the cumulative counters the activity plot needs.
#[derive(Clone, Debug, PartialEq)]
pub struct VmstatRow {
    pub time_s: f64,
    pub compact_stall: u64,
    pub pgsteal_kswapd: u64,
    pub pgsteal_direct: u64,
    pub allocstall: u64,
}

/// Reads vmstat.csv.
pub fn read_vmstat(file: &Path) -> Result<Vec<VmstatRow>, PlotError> {
    let t = Table::read(file)?;
    let cols = [
        t.col("time_s")?,
        t.col("compact_stall")?,
        t.col("pgsteal_kswapd")?,
        t.col("pgsteal_direct")?,
        t.col("allocstall")?,
    ];
    t.rows
        .iter()
        .map(|row| {
            Ok(VmstatRow {
                time_s: t.get(row, cols[0])?,
                compact_stall: t.get(row, cols[1])?,
                pgsteal_kswapd: t.get(row, cols[2])?,
                pgsteal_direct: t.get(row, cols[3])?,
                allocstall: t.get(row, cols[4])?,
            })
        })
        .collect()
}

/// One row of pageblocks-start.csv / pageblocks-end.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct Pageblock {
    pub node: u32,
    pub zone: String,
    pub start_pfn: u64,
    pub migratetype: String,
    pub free_pages: u64,
    /// Pages of the block that exist (the four counts added up; holes excluded).
    pub pages: u64,
}

/// Reads a pageblocks CSV.
pub fn read_pageblocks(file: &Path) -> Result<Vec<Pageblock>, PlotError> {
    let t = Table::read(file)?;
    let cols = [
        t.col("node")?,
        t.col("zone")?,
        t.col("start_pfn")?,
        t.col("migratetype")?,
    ];
    let counts = [
        t.col("free_pages")?,
        t.col("slab_pages")?,
        t.col("movable_pages")?,
        t.col("other_pages")?,
    ];
    t.rows
        .iter()
        .map(|row| {
            let mut pages = [0u64; 4];
            for (n, &col) in pages.iter_mut().zip(&counts) {
                *n = t.get(row, col)?;
            }
            Ok(Pageblock {
                node: t.get(row, cols[0])?,
                zone: row.1[cols[1]].clone(),
                start_pfn: t.get(row, cols[2])?,
                migratetype: row.1[cols[3]].clone(),
                free_pages: pages[0],
                pages: pages.iter().fold(0u64, |a, &n| a.saturating_add(n)),
            })
        })
        .collect()
}

/// One Kaplan–Meier curve of survival.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The grid point, `vm.a=1;vm.b=2`.
    pub point: String,
    /// (time_s, survival, lower, upper) per step, in file order.
    pub steps: Vec<[f64; 4]>,
}

/// Reads survival.csv: one curve per point, in order of first appearance.
pub fn read_survival(file: &Path) -> Result<Vec<Curve>, PlotError> {
    let t = Table::read(file)?;
    let cols = [
        t.col("time_s")?,
        t.col("survival")?,
        t.col("lower")?,
        t.col("upper")?,
    ];
    let point = t.col("point")?;
    let mut curves: Vec<Curve> = Vec::new();
    for row in &t.rows {
        let step = [
            t.get(row, cols[0])?,
            t.get(row, cols[1])?,
            t.get(row, cols[2])?,
            t.get(row, cols[3])?,
        ];
        let name = &row.1[point];
        match curves.iter_mut().find(|c| &c.point == name) {
            Some(curve) => curve.steps.push(step),
            None => curves.push(Curve {
                point: name.clone(),
                steps: vec![step],
            }),
        }
    }
    Ok(curves)
}

/// sweep.csv: the swept settings and one row per grid point.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SweepTable {
    /// The setting columns (sysctl names), in file order.
    pub settings: Vec<String>,
    pub rows: Vec<SweepRow>,
}

/// One grid point of sweep.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct SweepRow {
    /// The settings' values, as `settings` orders them.
    pub values: Vec<String>,
    pub runs: u64,
    pub failed: u64,
    /// Median time to first failure; `None` when not reached within the horizon.
    pub median_s: Option<f64>,
    pub lo90_s: Option<f64>,
    pub hi90_s: Option<f64>,
}

/// Reads sweep.csv: the setting columns are those before `runs`.
pub fn read_sweep(file: &Path) -> Result<SweepTable, PlotError> {
    let t = Table::read(file)?;
    let runs = t.col("runs")?;
    let cols = [
        t.col("failed")?,
        t.col("median_s")?,
        t.col("lo90_s")?,
        t.col("hi90_s")?,
    ];
    let rows = t
        .rows
        .iter()
        .map(|row| {
            Ok(SweepRow {
                values: row.1[..runs].to_vec(),
                runs: t.get(row, runs)?,
                failed: t.get(row, cols[0])?,
                median_s: t.get_opt(row, cols[1])?,
                lo90_s: t.get_opt(row, cols[2])?,
                hi90_s: t.get_opt(row, cols[3])?,
            })
        })
        .collect::<Result<_, PlotError>>()?;
    Ok(SweepTable {
        settings: t.header[..runs].to_vec(),
        rows,
    })
}

/// One row of comparison-free.csv: free blocks of one order, real and simulated.
#[derive(Clone, Debug, PartialEq)]
pub struct FreeComparison {
    pub run: String,
    pub mark: String,
    pub node: u32,
    pub zone: String,
    pub order: u32,
    pub real: u64,
    pub simulated: u64,
}

/// Reads comparison-free.csv.
pub fn read_comparison_free(file: &Path) -> Result<Vec<FreeComparison>, PlotError> {
    let t = Table::read(file)?;
    let cols = [
        t.col("run")?,
        t.col("mark")?,
        t.col("node")?,
        t.col("zone")?,
        t.col("order")?,
        t.col("real")?,
        t.col("simulated")?,
    ];
    t.rows
        .iter()
        .map(|row| {
            Ok(FreeComparison {
                run: row.1[cols[0]].clone(),
                mark: row.1[cols[1]].clone(),
                node: t.get(row, cols[2])?,
                zone: row.1[cols[3]].clone(),
                order: t.get(row, cols[4])?,
                real: t.get(row, cols[5])?,
                simulated: t.get(row, cols[6])?,
            })
        })
        .collect()
}

/// One row of comparison-counts.csv: blocks an operation got, real and simulated.
#[derive(Clone, Debug, PartialEq)]
pub struct CountComparison {
    pub run: String,
    pub real: u64,
    pub simulated: u64,
}

/// Reads comparison-counts.csv (`run,line,op,group,order,requested,real,simulated`; the plot uses
/// run, real and simulated).
pub fn read_comparison_counts(file: &Path) -> Result<Vec<CountComparison>, PlotError> {
    let t = Table::read(file)?;
    let cols = [t.col("run")?, t.col("real")?, t.col("simulated")?];
    t.rows
        .iter()
        .map(|row| {
            Ok(CountComparison {
                run: row.1[cols[0]].clone(),
                real: t.get(row, cols[1])?,
                simulated: t.get(row, cols[2])?,
            })
        })
        .collect()
}

/// A conntrack-cache creation attempt (`cache_create` in events.jsonl).
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    pub time_s: f64,
    /// Order of the memcg array's allocation; `None` for a small kmalloc.
    pub order: Option<u32>,
    pub ok: bool,
}

#[derive(Deserialize)]
struct RawEvent {
    time_s: f64,
    event: String,
}

#[derive(Deserialize)]
struct RawAttempt {
    order: Option<u32>,
    ok: bool,
}

/// Reads the `cache_create` events of events.jsonl, in file order (other kinds are skipped).
pub fn read_attempts(file: &Path) -> Result<Vec<Attempt>, PlotError> {
    let text = read(file)?;
    let error = |line: usize, what: String| PlotError::Parse {
        file: file.to_path_buf(),
        line,
        what,
    };
    let mut attempts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let head: RawEvent = serde_json::from_str(line).map_err(|e| {
            error(
                i + 1,
                format!("expected an event with time_s and event: {e}"),
            )
        })?;
        if head.event != "cache_create" {
            continue;
        }
        let raw: RawAttempt = serde_json::from_str(line).map_err(|e| {
            error(
                i + 1,
                format!("expected a cache_create event with order and ok: {e}"),
            )
        })?;
        attempts.push(Attempt {
            time_s: head.time_s,
            order: raw.order,
            ok: raw.ok,
        });
    }
    Ok(attempts)
}
