//! The memmux binary: command line, terminal checks, then the event loop.

use std::process::ExitCode;

use clap::Parser;

use memmux::app::{self, Exit};
use memmux::config::Config;
use memmux::memory::alloc::TaggedAlloc;
use memmux::terminal;

/// Every heap byte is charged to a session or to memmux itself: the memory panel's heap figures.
#[global_allocator]
static ALLOC: TaggedAlloc = TaggedAlloc;

/// A terminal session manager that shows how much memory each session uses.
#[derive(Parser, Debug)]
#[command(
    name = "memmux",
    version,
    about,
    after_help = "Keys: the prefix is Ctrl-b, as in tmux. Ctrl-b c new tab, Ctrl-b n/p next/previous, \
Ctrl-b 1..9 or Alt-1..9 go to a tab, Ctrl-b , rename, Ctrl-b x close, Ctrl-b Q quit, Ctrl-b ? all keys."
)]
struct Cli {
    /// Append every memory sample (every tab, every `sample-interval`) to this CSV file.
    #[arg(long, value_name = "PATH")]
    mem_log: Option<std::path::PathBuf>,

    /// Run this command in the first tab instead of the shell, e.g. `memmux -- htop`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(msg) = terminal::check_tty() {
        eprintln!("memmux: {msg}");
        return ExitCode::from(2);
    }
    terminal::install_panic_hook();
    let config = Config::default();
    let options = app::Options {
        first: (!cli.command.is_empty()).then_some(cli.command),
        mem_log: cli.mem_log,
        warning: None,
    };
    match app::run(config, options) {
        Ok(Exit::Quit) => ExitCode::SUCCESS,
        // The conventional status of a process ended by a signal, though memmux cleaned up first.
        Ok(Exit::Signal(sig)) => ExitCode::from(128u8.saturating_add(sig as u8)),
        Ok(Exit::TerminalGone) => ExitCode::from(128 + libc::SIGHUP as u8),
        Err(err) => {
            terminal::restore();
            eprintln!("memmux: {err:#}");
            ExitCode::from(1)
        }
    }
}
