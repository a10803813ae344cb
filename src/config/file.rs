//! Where the config file is, loading it, and why it could not be used.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use directories::ProjectDirs;

use super::diagnostic::{Diagnostic, diagnostics};
use super::reader::Problem;
use super::{CONFIG_ENV, Config};

/// Where the configuration comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config PATH`: the file must exist and be valid.
    Cli(PathBuf),
    /// `MEMMUX_CONFIG`: the file must exist and be valid.
    Env(PathBuf),
    /// The per-user file (`$XDG_CONFIG_HOME/memmux/config.toml`, else
    /// `~/.config/memmux/config.toml` on Linux); a missing file means the defaults.
    Default(PathBuf),
    /// No home directory to look in: the defaults.
    BuiltIn,
}

impl ConfigSource {
    /// The source from the command line's `--config`, the value of `MEMMUX_CONFIG` and the
    /// platform config directory, in that order of precedence. An empty `MEMMUX_CONFIG` counts
    /// as unset. [`config_path`] calls this with the real environment.
    pub fn resolve(
        cli: Option<&Path>,
        env: Option<&OsStr>,
        config_dir: Option<&Path>,
    ) -> ConfigSource {
        if let Some(p) = cli {
            return ConfigSource::Cli(p.to_path_buf());
        }
        if let Some(p) = env.filter(|p| !p.is_empty()) {
            return ConfigSource::Env(PathBuf::from(p));
        }
        match config_dir {
            Some(dir) => ConfigSource::Default(dir.join("config.toml")),
            None => ConfigSource::BuiltIn,
        }
    }

    pub fn path(&self) -> Option<&Path> {
        match self {
            ConfigSource::Cli(p) | ConfigSource::Env(p) | ConfigSource::Default(p) => Some(p),
            ConfigSource::BuiltIn => None,
        }
    }

    /// Named by the user (`--config` or `MEMMUX_CONFIG`): a missing or bad file is fatal.
    pub fn is_explicit(&self) -> bool {
        matches!(self, ConfigSource::Cli(_) | ConfigSource::Env(_))
    }
}

/// Where to read the configuration: `--config` (`cli`), else `MEMMUX_CONFIG`, else the
/// platform config directory.
pub fn config_path(cli: Option<&Path>) -> ConfigSource {
    let env = std::env::var_os(CONFIG_ENV);
    let dirs = ProjectDirs::from("", "", "memmux");
    ConfigSource::resolve(cli, env.as_deref(), dirs.as_ref().map(|d| d.config_dir()))
}

/// Where memmux writes exports and logs: `$XDG_DATA_HOME/memmux`, else
/// `~/.local/share/memmux` on Linux; `None` without a home directory.
pub fn data_dir() -> Option<PathBuf> {
    ProjectDirs::from("", "", "memmux").map(|d| d.data_dir().to_path_buf())
}

/// A configuration and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub config: Config,
    pub source: ConfigSource,
    /// The file read; `None` when there was none to read (the default path does not exist, or
    /// there is no home directory) and the defaults apply.
    pub file: Option<PathBuf>,
}

/// Reads `path` if it is a regular file (or a link to one). A FIFO would block memmux's start
/// until something wrote to it, a device could be endless (`/dev/zero`), a directory is a
/// mistake: each is an error naming what the path is. The file is opened without blocking
/// (a FIFO's open waits for a writer) and checked on the open descriptor, so nothing can
/// swap the file between the check and the read.
pub(super) fn read_regular_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    let what = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    };
    if let Some(what) = what {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file"),
        ));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads the configuration from `source`. For the default source a missing file gives the
/// defaults; every other failure is an error, and the caller decides: refuse to start for an
/// explicit source ([`ConfigSource::is_explicit`]), start with defaults and a warning for the
/// default one, keep the running configuration on a reload.
pub fn load(source: &ConfigSource) -> Result<Loaded, ConfigError> {
    let defaults = || Loaded {
        config: Config::default(),
        source: source.clone(),
        file: None,
    };
    let Some(path) = source.path() else {
        return Ok(defaults());
    };
    let bytes = match read_regular_file(path) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound && !source.is_explicit() => {
            return Ok(defaults());
        }
        Err(error) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source: source.clone(),
                error,
            });
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let problem = Problem {
                span: at..at + 1,
                message: "the file is not valid UTF-8 here".to_string(),
            };
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                diagnostics: diagnostics(&text, vec![problem]),
            });
        }
    };
    let config = Config::from_toml(&text, path)?;
    Ok(Loaded {
        config,
        source: source.clone(),
        file: Some(path.to_path_buf()),
    })
}

/// Why a config file could not be used.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read (for an explicit source: also when it does not exist).
    Read {
        path: PathBuf,
        source: ConfigSource,
        error: io::Error,
    },
    /// The file was read but is not a valid configuration: every problem found, in file order.
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

impl ConfigError {
    pub fn path(&self) -> &Path {
        match self {
            ConfigError::Read { path, .. } | ConfigError::Invalid { path, .. } => path,
        }
    }

    /// One line for the status bar: the first problem, and how many more there are.
    pub fn summary(&self) -> String {
        match self {
            ConfigError::Read { .. } => self.to_string(),
            ConfigError::Invalid { path, diagnostics } => {
                let Some(first) = diagnostics.first() else {
                    return format!("{}: invalid configuration", path.display());
                };
                let more = match diagnostics.len() {
                    1 => String::new(),
                    2 => " (and 1 more problem)".to_string(),
                    n => format!(" (and {} more problems)", n - 1),
                };
                format!(
                    "{}:{}:{}: {}{more}",
                    path.display(),
                    first.line,
                    first.column,
                    first.message
                )
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read {
                path,
                source,
                error,
            } => {
                let how = match source {
                    ConfigSource::Cli(_) => " (given with --config)",
                    ConfigSource::Env(_) => " (named by MEMMUX_CONFIG)",
                    _ => "",
                };
                write!(
                    f,
                    "{}: cannot read the config file{how}: {error}",
                    path.display()
                )
            }
            ConfigError::Invalid { path, diagnostics } => {
                let rendered: Vec<String> = diagnostics.iter().map(|d| d.render(path)).collect();
                f.write_str(&rendered.join("\n\n"))
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { error, .. } => Some(error),
            ConfigError::Invalid { .. } => None,
        }
    }
}
