//! The `buddysim` command line: parses arguments, does the I/O and calls the library.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
