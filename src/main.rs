//! The memmux binary: command line, configuration, terminal checks, then the event loop.

// A panic on a run-time path takes down every tab: errors go up with context instead.
// (Tests may unwrap: clippy.toml allows it in #[cfg(test)] code.)
#![deny(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use memmux::app::{self, Exit};
use memmux::config::{self, ConfigSource};
use memmux::memory;
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
    after_help = "Keys: the prefix is Ctrl-b by default, as in tmux. Prefix c new tab, prefix n/p \
next/previous, prefix 1..9 or Alt-1..9 go to a tab, prefix ' any tab by number, prefix , rename, \
prefix x close, prefix [ scroll view, prefix m memory panel, prefix ~ messages, prefix Q quit, \
prefix ? every key.\n\n\
Config: ~/.config/memmux/config.toml (or $XDG_CONFIG_HOME/memmux/config.toml, $MEMMUX_CONFIG, \
--config); `memmux --print-config` shows every setting."
)]
struct Cli {
    /// Read the configuration from this file (an error if it is missing or broken).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,

    /// Print the default configuration (commented), or with `=effective` the configuration
    /// memmux would run with, and exit.
    #[arg(long, value_name = "WHICH", num_args = 0..=1, default_missing_value = "default",
          value_parser = ["default", "effective"])]
    print_config: Option<String>,

    /// Append every memory sample (every tab, every `sample-interval`) to this CSV file.
    #[arg(long, value_name = "PATH")]
    mem_log: Option<PathBuf>,

    /// Run this command in the first tab instead of the shell, e.g. `memmux -- htop`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    // 256 KiB, fixed: blocks above it (a paste's buffers) are mapped on their own and given back
    // to the system when freed. glibc's default threshold rises to the size of the largest block
    // freed (up to 32 MiB), after which such blocks come from the heap and stay resident when
    // freed: measured, a second 20 MiB paste left memmux 40 MiB larger.
    // SAFETY: mallopt only changes allocator tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
    let cli = Cli::parse();
    if cli.print_config.as_deref() == Some("default") {
        print!("{}", config::DEFAULT_TOML);
        return ExitCode::SUCCESS;
    }
    let source = config::config_path(cli.config.as_deref());
    let (loaded, warning) = match config::load(&source) {
        Ok(loaded) => (Some(loaded), None),
        // An explicit file must be right: the user asked for it.
        Err(err) if source.is_explicit() => {
            eprintln!("memmux: {err}");
            return ExitCode::from(2);
        }
        // A broken file at the default path: start anyway, and say so in the status line.
        Err(err) => (
            None,
            Some(format!(
                "config ignored, defaults in use: {}",
                err.summary()
            )),
        ),
    };
    let config = loaded
        .as_ref()
        .map(|l| l.config.clone())
        .unwrap_or_default();
    let mechanism = memory_mechanism(&config);
    if cli.print_config.as_deref() == Some("effective") {
        if let Some(w) = &warning {
            eprintln!("memmux: {w}");
        }
        print!("{}", config.effective_toml());
        println!("\n# tab memory: {}", mechanism.describe());
        if let memory::cgroup::Mechanism::Cgroup(h) = &mechanism {
            memory::cgroup::release_hierarchy(h);
        }
        return ExitCode::SUCCESS;
    }
    memory::cgroup::init(mechanism, &cgroup_settings(&config));
    if let Err(msg) = terminal::check_tty() {
        eprintln!("memmux: {msg}");
        return ExitCode::from(2);
    }
    let term = std::env::var("TERM").ok();
    if let Err(msg) = terminal::check_term(term.as_deref()) {
        eprintln!("memmux: {msg}");
        return ExitCode::from(2);
    }
    terminal::install_panic_hook();
    let options = app::Options {
        first: (!cli.command.is_empty()).then_some(cli.command),
        mem_log: cli.mem_log,
        warning,
        config_source: Some(source).filter(|s| !matches!(s, ConfigSource::BuiltIn)),
    };
    let result = app::run(config, options);
    for problem in memory::cgroup::release_at_exit() {
        eprintln!("memmux: {problem}");
    }
    match result {
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

fn cgroup_settings(config: &config::Config) -> memory::cgroup::Settings {
    let t = &config.tab_memory;
    memory::cgroup::Settings {
        enabled: t.cgroups,
        root: t.cgroup_root.clone(),
        high_fraction: t.high_fraction,
    }
}

/// Chooses how tabs' memory is measured, once. Under systemd without a delegated cgroup,
/// re-executes memmux in a transient scope with `Delegate=yes`; if that cannot start, goes on
/// with what is left.
fn memory_mechanism(config: &config::Config) -> memory::cgroup::Mechanism {
    use memory::cgroup::detect;
    let args: Vec<std::ffi::OsString> = std::env::current_exe()
        .map(|exe| exe.into_os_string())
        .into_iter()
        .chain(std::env::args_os().skip(1))
        .collect();
    match detect::choose(
        &detect::Probe::of_this_process(),
        &cgroup_settings(config),
        &args,
    ) {
        detect::Plan::Use(m) => m,
        detect::Plan::Reexec { argv, fallback } => {
            use std::os::unix::process::CommandExt;
            let err = std::process::Command::new(&argv[0])
                .args(&argv[1..])
                .env(detect::SCOPED_ENV, "1")
                .exec();
            match fallback {
                memory::cgroup::Mechanism::None(why) => memory::cgroup::Mechanism::None(format!(
                    "{why}; systemd-run --user --scope failed: {err}"
                )),
                m => m,
            }
        }
    }
}
