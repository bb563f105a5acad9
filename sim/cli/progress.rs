//! Progress of long work on stderr: indicatif's bar on a terminal; nothing when stderr is not a
//! terminal, unless `--progress` asks for it there too, as a plain line every 10 seconds (what a
//! log or a CI job keeps).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often `--progress` writes a line where stderr is not a terminal.
const EVERY: Duration = Duration::from_secs(10);

/// A bar of `len` steps drawn with `template` (indicatif's syntax): on a terminal, or as lines
/// when `lines` (`--progress`) and stderr is not one; hidden otherwise.
pub fn bar(len: u64, template: &str, lines: bool) -> ProgressBar {
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else if lines {
        ProgressDrawTarget::term_like(Box::new(Lines::default()))
    } else {
        ProgressDrawTarget::hidden()
    };
    ProgressBar::with_draw_target(Some(len), target).with_style(style)
}

/// A "terminal" that keeps what indicatif draws and writes it to stderr as one line, at most
/// every [`EVERY`].
#[derive(Debug, Default)]
struct Lines {
    state: Mutex<(String, Option<Instant>)>,
}

impl Lines {
    fn with<T>(&self, f: impl FnOnce(&mut (String, Option<Instant>)) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl TermLike for Lines {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.write_str(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.with(|(pending, _)| pending.push_str(s));
        Ok(())
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.with(|(pending, _)| pending.clear());
        Ok(())
    }
    fn flush(&self) -> std::io::Result<()> {
        self.with(|(pending, last)| {
            let line = pending.trim();
            if !line.is_empty() && last.is_none_or(|t| t.elapsed() >= EVERY) {
                eprintln!("{line}");
                *last = Some(Instant::now());
            }
            pending.clear();
        });
        Ok(())
    }
}
