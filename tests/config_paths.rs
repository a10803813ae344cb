//! Where the config file and the data directory are, from the real environment.
//!
//! One test in its own binary: it sets environment variables, which would race with any other
//! test running in the same process.

use std::fs;

use memmux::config::{self, CONFIG_ENV, ConfigSource};

#[test]
fn locations_follow_the_environment() {
    let root = tempfile::tempdir().unwrap();
    let xdg_config = root.path().join("xdg-config");
    let xdg_data = root.path().join("xdg-data");
    // SAFETY: this binary runs only this test, so no other thread reads the environment.
    unsafe {
        std::env::remove_var(CONFIG_ENV);
        std::env::set_var("XDG_CONFIG_HOME", &xdg_config);
        std::env::set_var("XDG_DATA_HOME", &xdg_data);
    }

    let default = xdg_config.join("memmux/config.toml");
    assert_eq!(
        config::config_path(None),
        ConfigSource::Default(default.clone())
    );
    assert_eq!(config::data_dir(), Some(xdg_data.join("memmux")));

    // No file there yet: the defaults.
    let loaded = config::load(&config::config_path(None)).unwrap();
    assert_eq!(loaded.file, None);

    fs::create_dir_all(default.parent().unwrap()).unwrap();
    fs::write(&default, "fps = 25\n").unwrap();
    let loaded = config::load(&config::config_path(None)).unwrap();
    assert_eq!(loaded.config.fps, 25);
    assert_eq!(loaded.file.as_deref(), Some(default.as_path()));

    // MEMMUX_CONFIG wins over the default path; --config wins over both.
    let named = root.path().join("named.toml");
    // SAFETY: this test binary has one test and no other thread reads the environment.
    unsafe { std::env::set_var(CONFIG_ENV, &named) };
    assert_eq!(config::config_path(None), ConfigSource::Env(named.clone()));
    let cli = root.path().join("cli.toml");
    assert_eq!(
        config::config_path(Some(&cli)),
        ConfigSource::Cli(cli.clone())
    );
    // Both explicit: missing is an error.
    assert!(config::load(&config::config_path(None)).is_err());
    assert!(config::load(&config::config_path(Some(&cli))).is_err());

    // Empty counts as unset.
    // SAFETY: as above, no other thread reads the environment.
    unsafe { std::env::set_var(CONFIG_ENV, "") };
    assert_eq!(config::config_path(None), ConfigSource::Default(default));
}
