//! The memmux binary: command line, configuration, terminal checks, then the event loop.

// A panic on a run-time path takes down every tab: errors go up with context instead.
// (Tests may unwrap: clippy.toml allows it in #[cfg(test)] code.)
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use memmux::app::{self, Exit};
use memmux::config::{self, ConfigSource};
use memmux::frontend::terminal;
use memmux::memory;
use memmux::memory::alloc::TaggedAlloc;

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
prefix x close, prefix [ scroll view, prefix m memory panel, prefix ~ messages, prefix d detach, \
prefix Q quit, prefix ? every key.\n\n\
Sessions outlive the terminal: `memmux` starts a per-user server if none runs and attaches a new \
session; `memmux attach` comes back to it. MEMMUX_NO_SERVER=1 runs memmux in this terminal \
alone (no server; tabs end with it).\n\n\
Config: ~/.config/memmux/config.toml (or $XDG_CONFIG_HOME/memmux/config.toml, $MEMMUX_CONFIG, \
--config); `memmux --print-config` shows every setting."
)]
struct Cli {
    /// Read the configuration from this file (an error if it is missing or broken).
    #[arg(long, value_name = "PATH", global = true)]
    config: Option<PathBuf>,

    /// Print the default configuration (commented), or with `=effective` the configuration
    /// memmux would run with, and exit.
    #[arg(long, value_name = "WHICH", num_args = 0..=1, default_missing_value = "default",
          value_parser = ["default", "effective"])]
    print_config: Option<String>,

    /// Append every memory sample (every tab, every `sample-interval`) to this CSV file.
    #[arg(long, value_name = "PATH", global = true)]
    mem_log: Option<PathBuf>,

    /// Run this command in the first tab instead of the shell, e.g. `memmux -- htop`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,

    /// Internal: run as the server (started by a client when none runs).
    #[arg(long, hide = true)]
    server: bool,

    /// Internal: run as one of the server's sessions, its control socket on this descriptor.
    #[arg(long, hide = true, value_name = "FD")]
    session_fd: Option<i32>,

    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Start a new session (and attach to it, unless -d).
    New {
        /// The session's name (by default the smallest free number).
        #[arg(short = 's', value_name = "NAME")]
        name: Option<String>,
        /// Do not attach: the session starts in the background.
        #[arg(short = 'd')]
        detached: bool,
        /// Run this command in the first tab instead of the shell.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Attach to a session (the most recently used one without -t).
    #[command(visible_alias = "a")]
    Attach {
        #[arg(short = 't', value_name = "NAME")]
        target: Option<String>,
    },
    /// List the sessions: name, tabs, clients attached, memory.
    #[command(visible_alias = "list-sessions")]
    Ls,
    /// End a session and everything running in it.
    KillSession {
        #[arg(short = 't', value_name = "NAME")]
        target: String,
    },
    /// End the server and every session.
    KillServer,
}

fn main() -> ExitCode {
    // 256 KiB, fixed: blocks above it (a paste's buffers) are mapped on their own and given back
    // to the system when freed. glibc's default threshold rises to the size of the largest block
    // freed (up to 32 MiB), after which such blocks come from the heap and stay resident when
    // freed: measured, a second 20 MiB paste left memmux 40 MiB larger.
    memmux::sys::mem::set_mmap_threshold(256 << 10);
    let cli = Cli::parse();
    if cli.print_config.as_deref() == Some("default") {
        print!("{}", config::DEFAULT_TOML);
        return ExitCode::SUCCESS;
    }
    let source = config::config_path(cli.config.as_deref());
    let app_here = cli.server
        || cli.session_fd.is_some()
        || cli.print_config.is_some()
        || std::env::var_os("MEMMUX_NO_SERVER").is_some_and(|v| !v.is_empty());
    if !app_here {
        // A client: the configuration is read by the server and the session, not here (the
        // client stays small: no TOML parsed, no keymap built). A file named explicitly is
        // checked all the same, so a mistake in it is said now, not by a session that ends.
        if source.is_explicit() {
            if let Err(err) = config::load(&source) {
                eprintln!("memmux: {err}");
                return ExitCode::from(2);
            }
        }
        // A server this client starts runs its first session in a fork of itself (no second
        // exec of memmux): this is that session's entry.
        memmux::server::set_session_main(session_main);
        return match client_command(cli) {
            Ok(code) => ExitCode::from(code),
            Err(err) => {
                terminal::restore();
                eprintln!("memmux: {err:#}");
                ExitCode::from(1)
            }
        };
    }
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    ExitCode::from(app_main(cli, source, args))
}

/// The server's first session, forked from the client that started the server: `args` are
/// the arguments it would have been `exec`ed with (`memmux --session-fd 3 ...`).
fn session_main(args: Vec<String>) -> u8 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("memmux: {e}");
            return 2;
        }
    };
    let source = config::config_path(cli.config.as_deref());
    let own = args.into_iter().skip(1).map(Into::into).collect();
    app_main(cli, source, own)
}

/// The server (`--server`), a session of it, `--print-config`, or memmux alone in this
/// terminal. `args`: memmux's own arguments, for a re-exec in a systemd scope.
fn app_main(cli: Cli, source: ConfigSource, args: Vec<std::ffi::OsString>) -> u8 {
    let (loaded, warning) = match config::load(&source) {
        Ok(loaded) => (Some(loaded), None),
        // An explicit file must be right: the user asked for it.
        Err(err) if source.is_explicit() => {
            eprintln!("memmux: {err}");
            return 2;
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
    if cli.server {
        return match memmux::server::daemon::start(window_size(&config)) {
            Ok(_) => 0,
            Err(e) => {
                eprintln!("memmux: {e:#}");
                1
            }
        };
    }
    if cli.cmd.is_some() {
        eprintln!("memmux: session commands need the server; MEMMUX_NO_SERVER is set");
        return 2;
    }
    run_app(cli, config, warning, source, args)
}

/// `memmux` as a client of the server: a new session, attach, or a command.
fn client_command(cli: Cli) -> anyhow::Result<u8> {
    use memmux::client;
    use memmux::server::protocol::{Msg, NewSession};
    let own_args = |command: Vec<String>| {
        let mut args = Vec::new();
        if let Some(c) = &cli.config {
            args.push("--config".to_string());
            args.push(c.display().to_string());
        }
        if let Some(m) = &cli.mem_log {
            args.push("--mem-log".to_string());
            args.push(m.display().to_string());
        }
        if !command.is_empty() {
            args.push("--".to_string());
            args.extend(command);
        }
        args
    };
    let new = |name, detached, command| NewSession {
        name,
        detached,
        args: own_args(command),
        cwd: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/".to_string()),
        env: client::environment(),
        rows: 0,
        cols: 0,
    };
    let (name, detached, command, attach) = match cli.cmd {
        None => (None, false, cli.command.clone(), None),
        Some(Cmd::New {
            name,
            detached,
            ref command,
        }) => (name, detached, command.clone(), None),
        Some(Cmd::Attach { target }) => (None, false, Vec::new(), Some(target)),
        Some(Cmd::Ls) => return one_shot(&Msg::List, true),
        Some(Cmd::KillSession { target }) => return one_shot(&Msg::KillSession(target), false),
        Some(Cmd::KillServer) => return one_shot(&Msg::KillServer, false),
    };
    let inside = std::env::var_os(memmux::server::socket::ENV).is_some_and(|v| !v.is_empty());
    if attach.is_none() && !detached && inside {
        eprintln!(
            "memmux: this is a memmux tab already (MEMMUX is set); a session here would nest \
             inside it. Start one in the background with `memmux new -d`, attach to one with \
             `memmux attach -t NAME`, or nest anyway with `MEMMUX= memmux`."
        );
        return Ok(1);
    }
    match attach {
        // Whether the session exists is said first; the terminal is checked once attached.
        Some(target) => client::attach(target, check_terminal),
        None => {
            if !detached {
                if let Err(code) = check_terminal() {
                    return Ok(code);
                }
            }
            client::new_session(new(name, detached, command), cli.config.as_deref())
        }
    }
}

/// A client needs a terminal it can draw on: says why not (exit code 2), and sets up the
/// restoring panic hook when it can.
fn check_terminal() -> Result<(), u8> {
    if let Err(msg) = terminal::check_tty() {
        eprintln!("memmux: {msg}");
        return Err(2);
    }
    let term = std::env::var("TERM").ok();
    if let Err(msg) = terminal::check_term(term.as_deref()) {
        eprintln!("memmux: {msg}");
        return Err(2);
    }
    terminal::install_panic_hook();
    Ok(())
}

/// Sends `msg` to the server and prints its answer: `ls`, `kill-session`, `kill-server`.
fn one_shot(msg: &memmux::server::protocol::Msg, print: bool) -> anyhow::Result<u8> {
    use memmux::client::{self, ConnectError};
    use memmux::server::protocol::Msg;
    let mut stream = match client::connect() {
        Ok(s) => s,
        Err(ConnectError::NoServer) => {
            eprintln!("memmux: {}", client::no_server_message());
            return Ok(1);
        }
        Err(ConnectError::Refused(why)) => anyhow::bail!("{why}"),
        Err(ConnectError::Other(e)) => return Err(e),
    };
    match client::request(&mut stream, msg)? {
        Msg::Done(text) => {
            if print {
                print!("{text}");
            }
            Ok(0)
        }
        Msg::Error(e) => {
            eprintln!("memmux: {e}");
            Ok(1)
        }
        other => anyhow::bail!("unexpected answer {other:?}"),
    }
}

fn window_size(config: &config::Config) -> memmux::server::hub::WindowSize {
    config.window_size
}

/// Runs the app in this terminal: as one of the server's sessions (`--session-fd`), or alone
/// (`MEMMUX_NO_SERVER`).
fn run_app(
    cli: Cli,
    config: config::Config,
    warning: Option<String>,
    source: ConfigSource,
    args: Vec<std::ffi::OsString>,
) -> u8 {
    let mechanism = memory_mechanism(&config, args);
    if cli.print_config.as_deref() == Some("effective") {
        if let Some(w) = &warning {
            eprintln!("memmux: {w}");
        }
        print!("{}", config.effective_toml());
        println!("\n# tab memory: {}", mechanism.describe());
        if let memory::cgroup::Mechanism::Cgroup(h) = &mechanism {
            memory::cgroup::release_hierarchy(h);
        }
        return 0;
    }
    if let Some(fd) = cli.session_fd {
        if let Err(e) = memmux::server::child::init(fd) {
            eprintln!("memmux: {e:#}");
            return 2;
        }
    }
    memory::cgroup::init(mechanism, &cgroup_settings(&config));
    if let Err(msg) = terminal::check_tty() {
        eprintln!("memmux: {msg}");
        return 2;
    }
    let term = std::env::var("TERM").ok();
    if let Err(msg) = terminal::check_term(term.as_deref()) {
        eprintln!("memmux: {msg}");
        return 2;
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
        Ok(Exit::Quit) => 0,
        // The conventional status of a process ended by a signal, though memmux cleaned up first.
        Ok(Exit::Signal(sig)) => 128u8.saturating_add(sig as u8),
        Ok(Exit::TerminalGone) => 128 + libc::SIGHUP as u8,
        Err(err) => {
            terminal::restore();
            eprintln!("memmux: {err:#}");
            1
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
/// `own_args`: memmux's arguments (not its path), which the re-exec repeats.
fn memory_mechanism(
    config: &config::Config,
    own_args: Vec<std::ffi::OsString>,
) -> memory::cgroup::Mechanism {
    use memory::cgroup::detect;
    let args: Vec<std::ffi::OsString> = std::env::current_exe()
        .map(|exe| exe.into_os_string())
        .into_iter()
        .chain(own_args)
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
