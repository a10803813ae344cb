//! Choosing the mechanism once at start: cgroup v2 delegated to memmux, cgroup v1 with a
//! writable memory controller, or none (with the reason).
//!
//! Everything the choice reads comes in a [`Probe`] (the text of `/proc/self/cgroup` and
//! `/proc/self/mounts`, whether systemd runs, ...) and every path it touches is under the
//! mount points those texts name, so tests run it against a fake tree in a temporary
//! directory.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

use super::{Hierarchy, Mechanism, Settings, Version};

/// What the choice looks at.
#[derive(Clone, Debug, Default)]
pub struct Probe {
    /// `/proc/self/cgroup`.
    pub proc_cgroup: String,
    /// `/proc/self/mounts`.
    pub mounts: String,
    pub pid: u32,
    /// `/run/systemd/system` exists: a systemd user manager can hand out delegated scopes.
    pub under_systemd: bool,
    /// `systemd-run` on PATH.
    pub systemd_run: Option<PathBuf>,
    /// memmux was already re-executed in a delegated scope ([`SCOPED_ENV`] is set).
    pub scoped: bool,
}

/// Set in memmux's environment when it re-executes itself through `systemd-run`, so that
/// it does not try again.
pub const SCOPED_ENV: &str = "MEMMUX_SCOPED";

impl Probe {
    /// The probe of this process.
    pub fn of_this_process() -> Probe {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        Probe {
            proc_cgroup: read("/proc/self/cgroup"),
            mounts: read("/proc/self/mounts"),
            pid: std::process::id(),
            under_systemd: Path::new("/run/systemd/system").is_dir(),
            // Looked up only under systemd: PATH can be long, and start-up is timed.
            systemd_run: None,
            scoped: std::env::var_os(SCOPED_ENV).is_some(),
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What to do.
#[derive(Debug)]
pub enum Plan {
    Use(Mechanism),
    /// Re-execute memmux through `systemd-run --user --scope -p Delegate=yes` (this argv,
    /// with [`SCOPED_ENV`] set); `fallback` is the mechanism to use if that fails.
    Reexec {
        argv: Vec<OsString>,
        fallback: Mechanism,
    },
}

/// Chooses the mechanism. Makes the directories it will use (and so proves them writable);
/// [`super::release_hierarchy`] removes them.
pub fn choose(probe: &Probe, settings: &Settings, args: &[OsString]) -> Plan {
    if !settings.enabled {
        return Plan::Use(Mechanism::None("cgroups = false in the config".into()));
    }
    let mut reasons = Vec::new();
    if let Some(root) = &settings.root {
        match setup_v2(root, probe) {
            Ok(h) => return Plan::Use(Mechanism::Cgroup(h)),
            Err(e) => reasons.push(format!("cgroup-root {}: {e}", root.display())),
        }
    }
    // v2 before v1. A controller is bound to one hierarchy at a time, so memory is never
    // usable through both: the order decides only which reason is given first.
    let v2 = v2_own_dir(probe);
    let mut want_scope = false;
    match &v2 {
        Some(own) => match has_memory(own) {
            Ok(true) => match setup_v2(own, probe) {
                Ok(h) => return Plan::Use(Mechanism::Cgroup(h)),
                Err(e) => {
                    want_scope = true;
                    reasons.push(format!("cgroup v2 {} not delegated: {e}", own.display()));
                }
            },
            Ok(false) => reasons.push(format!(
                "cgroup v2 at {} has no memory controller",
                own.display()
            )),
            Err(e) => reasons.push(format!("cgroup v2 at {}: {e}", own.display())),
        },
        None => reasons.push("no cgroup v2 mounted".into()),
    }
    let fallback = match setup_v1(probe) {
        Ok(h) => return Plan::Use(Mechanism::Cgroup(h)),
        Err(e) => {
            reasons.push(e);
            Mechanism::None(reasons.join("; "))
        }
    };
    if want_scope && probe.under_systemd && !probe.scoped {
        let found = probe
            .systemd_run
            .clone()
            .or_else(|| find_on_path("systemd-run"));
        if let Some(run) = &found {
            return Plan::Reexec {
                argv: scope_argv(run, args),
                fallback,
            };
        }
    }
    Plan::Use(fallback)
}

/// What `systemd-run` is given before memmux's own arguments: a transient scope of the user's
/// manager with the memory controller delegated to it, quietly, gone when memmux ends.
const SCOPE_OPTIONS: [&str; 7] = [
    "--user",
    "--scope",
    "-p",
    "Delegate=yes",
    "--quiet",
    "--collect",
    "--",
];

/// `systemd-run --user --scope -p Delegate=yes --quiet --collect -- <memmux args>`.
pub fn scope_argv(systemd_run: &Path, args: &[OsString]) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec![systemd_run.into()];
    v.extend(SCOPE_OPTIONS.iter().map(OsString::from));
    v.extend(args.iter().cloned());
    v
}

/// The mount point of the first mount of type `fstype` whose options include `option`
/// (`None`: any).
fn mount_point(mounts: &str, fstype: &str, option: Option<&str>) -> Option<PathBuf> {
    mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_ascii_whitespace().collect();
        if f.len() < 4 || f[2] != fstype {
            return None;
        }
        if let Some(o) = option {
            if !f[3].split(',').any(|x| x == o) {
                return None;
            }
        }
        Some(PathBuf::from(unescape_mount(f[1])))
    })
}

/// `/proc/mounts` writes spaces and a few others as octal escapes (`\040`).
fn unescape_mount(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let (b'\\', Some(d)) = (b[i], octal) {
            let v =
                u16::from(d[0] - b'0') * 64 + u16::from(d[1] - b'0') * 8 + u16::from(d[2] - b'0');
            out.push(v as u8);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path of this process's cgroup in the hierarchy whose `/proc/self/cgroup` line has
/// `controllers` (`""` for v2's `0::`).
fn own_path(proc_cgroup: &str, controller: &str) -> Option<String> {
    proc_cgroup.lines().find_map(|l| {
        let mut it = l.splitn(3, ':');
        let (_, list, path) = (it.next()?, it.next()?, it.next()?);
        let hit = if controller.is_empty() {
            list.is_empty()
        } else {
            list.split(',').any(|c| c == controller)
        };
        hit.then(|| path.to_string())
    })
}

fn join_under(mount: &Path, cgroup_path: &str) -> PathBuf {
    mount.join(cgroup_path.trim_start_matches('/'))
}

fn v2_own_dir(probe: &Probe) -> Option<PathBuf> {
    let mount = mount_point(&probe.mounts, "cgroup2", None)?;
    let path = own_path(&probe.proc_cgroup, "")?;
    Some(join_under(&mount, &path))
}

fn has_memory(dir: &Path) -> io::Result<bool> {
    let text = std::fs::read_to_string(dir.join("cgroup.controllers"))?;
    Ok(text.split_ascii_whitespace().any(|c| c == "memory"))
}

/// v2: a delegated `root`. memmux moves itself into a leaf of it when it sits in `root`
/// itself (a cgroup that enables `+memory` for its children may hold no processes), then
/// enables the memory controller for the children.
pub fn setup_v2(root: &Path, probe: &Probe) -> Result<Hierarchy, String> {
    match has_memory(root) {
        Ok(true) => {}
        Ok(false) => return Err("no memory controller there".into()),
        Err(e) => return Err(format!("cannot read cgroup.controllers: {e}")),
    }
    let procs = std::fs::read_to_string(root.join("cgroup.procs"))
        .map_err(|e| format!("cannot read cgroup.procs: {e}"))?;
    let inside = procs
        .split_ascii_whitespace()
        .any(|p| p == probe.pid.to_string());
    let mut made = Vec::new();
    let mut home = v2_own_dir(probe).unwrap_or_else(|| root.to_path_buf());
    if inside {
        let leaf = root.join(format!("memmux-{}", probe.pid));
        std::fs::create_dir(&leaf).map_err(|e| format!("cannot make {}: {e}", leaf.display()))?;
        made.push(leaf.clone());
        if let Err(e) = std::fs::write(leaf.join("cgroup.procs"), probe.pid.to_string()) {
            let _ = std::fs::remove_dir(&leaf);
            return Err(format!("cannot move memmux into {}: {e}", leaf.display()));
        }
        home = leaf;
    }
    let enabled = std::fs::read_to_string(root.join("cgroup.subtree_control"))
        .unwrap_or_default()
        .split_ascii_whitespace()
        .any(|c| c == "memory");
    if !enabled {
        if let Err(e) = std::fs::write(root.join("cgroup.subtree_control"), "+memory") {
            let h = Hierarchy {
                version: Version::V2,
                base: root.to_path_buf(),
                home: home.clone(),
                freezer: None,
                made,
            };
            super::release_hierarchy(&h);
            return Err(format!("cannot enable the memory controller: {e}"));
        }
    }
    Ok(Hierarchy {
        version: Version::V2,
        base: root.to_path_buf(),
        home,
        freezer: None,
        made,
    })
}

/// v1: `memmux-<pid>` inside memmux's own memory cgroup (and freezer cgroup, when mounted).
fn setup_v1(probe: &Probe) -> Result<Hierarchy, String> {
    let mount = mount_point(&probe.mounts, "cgroup", Some("memory"))
        .ok_or("no cgroup v1 memory controller mounted")?;
    let own =
        own_path(&probe.proc_cgroup, "memory").ok_or("no memory line in /proc/self/cgroup")?;
    let home = join_under(&mount, &own);
    let base = home.join(format!("memmux-{}", probe.pid));
    clean_up_later(home.clone());
    std::fs::create_dir(&base).map_err(|e| {
        format!(
            "cgroup v1 memory controller at {} is not writable: {e}",
            home.display()
        )
    })?;
    let freezer = mount_point(&probe.mounts, "cgroup", Some("freezer")).and_then(|m| {
        let fhome = join_under(&m, &own_path(&probe.proc_cgroup, "freezer")?);
        let fbase = fhome.join(format!("memmux-{}", probe.pid));
        clean_up_later(fhome.clone());
        std::fs::create_dir(&fbase).ok()?;
        Some((fbase, fhome))
    });
    Ok(Hierarchy {
        version: Version::V1,
        base: base.clone(),
        home,
        freezer,
        made: vec![base],
    })
}

/// Homes whose stale `memmux-<pid>` cgroups are still to be removed ([`clean_up_pending`]).
static PENDING_CLEAN: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Queues [`remove_stale`] of `home` for the cgroup-join worker, which runs it after the
/// first tab's program has joined: removing a memory cgroup can take milliseconds (the
/// kernel offlines it, under its global cgroup lock), and a thread per hierarchy cost about
/// 0.2 ms each to start before the first shell (`docs/performance.md`, 2026-12-07).
fn clean_up_later(home: PathBuf) {
    PENDING_CLEAN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(home);
}

/// Runs the clean-ups [`clean_up_later`] queued (each once), on the calling thread.
pub(super) fn clean_up_pending() {
    let homes = std::mem::take(&mut *PENDING_CLEAN.lock().unwrap_or_else(|p| p.into_inner()));
    for home in homes {
        remove_stale(&home);
    }
}

/// Empty `memmux-<pid>` cgroups of memmux instances that are gone (killed before they
/// could clean up): removed, so that they do not pile up.
fn remove_stale(home: &Path) {
    let Ok(dir) = std::fs::read_dir(home) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("memmux-"))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        remove_tree(&e.path(), 2);
    }
}

/// Removes the empty cgroup `dir` and, first, the cgroups inside it down to `depth` levels
/// (a `memmux-<pid>` holds tabs, a tab holds panes). A cgroup's own files are not
/// directories and go with it.
fn remove_tree(dir: &Path, depth: usize) {
    if depth > 0 {
        if let Ok(inner) = std::fs::read_dir(dir) {
            for t in inner.flatten() {
                if t.file_type().is_ok_and(|t| t.is_dir()) {
                    remove_tree(&t.path(), depth - 1);
                }
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    //! The choice against fake cgroup trees in a temporary directory: plain directories and
    //! files standing for cgroupfs (what memmux writes is read back from them).

    use super::*;

    fn write(p: &Path, text: &str) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A v2 tree at `<tmp>/unified` with memmux in `/user.slice/app.scope`.
    fn v2_tree(controllers: &str) -> (tempfile::TempDir, Probe, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let mount = tmp.path().join("unified");
        let scope = mount.join("user.slice/app.scope");
        write(&scope.join("cgroup.controllers"), controllers);
        write(&scope.join("cgroup.subtree_control"), "");
        let pid = std::process::id();
        write(&scope.join("cgroup.procs"), &format!("{pid}\n"));
        let probe = Probe {
            proc_cgroup: "0::/user.slice/app.scope\n".into(),
            mounts: format!("cgroup2 {} cgroup2 rw,nosuid 0 0\n", mount.display()),
            pid,
            ..Probe::default()
        };
        (tmp, probe, scope)
    }

    #[test]
    fn v2_delegated_moves_memmux_into_a_leaf_then_enables_memory() {
        let (_tmp, probe, scope) = v2_tree("cpu memory pids\n");
        let Plan::Use(Mechanism::Cgroup(h)) = choose(&probe, &Settings::default(), &[]) else {
            panic!("v2 not chosen");
        };
        let leaf = scope.join(format!("memmux-{}", probe.pid));
        assert_eq!(h.version, Version::V2);
        assert_eq!(h.base, scope);
        assert_eq!(h.home, leaf);
        // The order the no-internal-processes rule needs: into the leaf, then +memory.
        assert_eq!(
            std::fs::read_to_string(leaf.join("cgroup.procs")).unwrap(),
            probe.pid.to_string()
        );
        assert_eq!(
            std::fs::read_to_string(scope.join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
        assert_eq!(h.made, vec![leaf.clone()]);
        assert!(
            Mechanism::Cgroup(h.clone())
                .describe()
                .starts_with("cgroup-v2 at ")
        );
        // At exit: memory off for the children, memmux back up, the leaf removed (here
        // its stand-in files keep it; cgroupfs has none to remove).
        let problems = crate::memory::cgroup::release_hierarchy(&h);
        assert_eq!(
            std::fs::read_to_string(scope.join("cgroup.subtree_control")).unwrap(),
            "-memory"
        );
        assert_eq!(
            std::fs::read_to_string(scope.join("cgroup.procs")).unwrap(),
            probe.pid.to_string()
        );
        assert!(
            problems.iter().any(|p| p.contains("cannot remove")),
            "{problems:?}"
        );
    }

    #[test]
    fn v2_without_memory_under_systemd_asks_for_a_delegated_scope() {
        let (_tmp, mut probe, _) = v2_tree("cpu pids\n");
        let Plan::Use(Mechanism::None(why)) = choose(&probe, &Settings::default(), &[]) else {
            panic!("no mechanism expected without systemd");
        };
        assert!(why.contains("has no memory controller"), "{why}");
        assert!(why.contains("no cgroup v1 memory controller"), "{why}");

        // Memory is there but the scope is not delegated (cgroup.procs unreadable here:
        // a directory), under systemd: re-execute in a scope with Delegate=yes.
        let (_tmp2, mut p2, scope) = v2_tree("memory\n");
        std::fs::remove_file(scope.join("cgroup.procs")).unwrap();
        std::fs::create_dir(scope.join("cgroup.procs")).unwrap();
        p2.under_systemd = true;
        p2.systemd_run = Some(PathBuf::from("/usr/bin/systemd-run"));
        let args = vec![OsString::from("/bin/memmux"), OsString::from("-c")];
        match choose(&p2, &Settings::default(), &args) {
            Plan::Reexec { argv, fallback } => {
                let argv: Vec<String> = argv
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                assert_eq!(
                    argv.join(" "),
                    "/usr/bin/systemd-run --user --scope -p Delegate=yes --quiet --collect -- \
                     /bin/memmux -c"
                );
                assert!(matches!(fallback, Mechanism::None(_)));
            }
            other => panic!("expected a re-exec, got {other:?}"),
        }
        // Already re-executed once: no loop, the reason instead.
        p2.scoped = true;
        assert!(matches!(
            choose(&p2, &Settings::default(), &args),
            Plan::Use(Mechanism::None(_))
        ));
        probe.under_systemd = true;
        probe.systemd_run = Some(PathBuf::from("/usr/bin/systemd-run"));
        // No memory controller at all: a scope would not help.
        assert!(matches!(
            choose(&probe, &Settings::default(), &args),
            Plan::Use(Mechanism::None(_))
        ));
    }

    #[test]
    fn a_named_cgroup_root_is_used_or_its_problem_said() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("delegated");
        write(&root.join("cgroup.controllers"), "memory io\n");
        write(&root.join("cgroup.procs"), "");
        write(&root.join("cgroup.subtree_control"), "memory\n");
        let probe = Probe {
            pid: std::process::id(),
            ..Probe::default()
        };
        let settings = Settings {
            root: Some(root.clone()),
            ..Settings::default()
        };
        let Plan::Use(Mechanism::Cgroup(h)) = choose(&probe, &settings, &[]) else {
            panic!("cgroup-root not used");
        };
        // memmux is not inside it, and memory is already enabled: nothing to move or write.
        assert!(h.made.is_empty());
        assert_eq!(
            std::fs::read_to_string(root.join("cgroup.subtree_control")).unwrap(),
            "memory\n"
        );

        write(&root.join("cgroup.controllers"), "io\n");
        let Plan::Use(Mechanism::None(why)) = choose(&probe, &settings, &[]) else {
            panic!("a root without memory must not be used");
        };
        assert!(
            why.contains("cgroup-root") && why.contains("no memory controller"),
            "{why}"
        );

        // Enabling the controller fails (EISDIR standing for EBUSY/EACCES): said, and the
        // leaf memmux made is removed again.
        write(&root.join("cgroup.controllers"), "memory\n");
        std::fs::remove_file(root.join("cgroup.subtree_control")).unwrap();
        std::fs::create_dir(root.join("cgroup.subtree_control")).unwrap();
        write(&root.join("cgroup.procs"), &probe.pid.to_string());
        let Plan::Use(Mechanism::None(why)) = choose(&probe, &settings, &[]) else {
            panic!("expected no mechanism");
        };
        assert!(why.contains("cannot enable the memory controller"), "{why}");
    }

    #[test]
    fn v1_writable_or_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let mem = tmp.path().join("memory");
        let frz = tmp.path().join("freezer");
        std::fs::create_dir_all(mem.join("a/b")).unwrap();
        std::fs::create_dir_all(&frz).unwrap();
        let pid = std::process::id();
        let probe = Probe {
            proc_cgroup: "6:freezer:/\n4:memory:/a/b\n0::/\n".into(),
            mounts: format!(
                "cgroup {} cgroup rw,relatime,memory 0 0\ncgroup {} cgroup rw,freezer 0 0\n",
                mem.display(),
                frz.display()
            ),
            pid,
            ..Probe::default()
        };
        let Plan::Use(Mechanism::Cgroup(h)) = choose(&probe, &Settings::default(), &[]) else {
            panic!("v1 not chosen");
        };
        assert_eq!(h.version, Version::V1);
        assert_eq!(h.base, mem.join(format!("a/b/memmux-{pid}")));
        assert_eq!(h.home, mem.join("a/b"));
        assert!(h.base.is_dir());
        let (fbase, fhome) = h.freezer.clone().unwrap();
        assert_eq!(
            (fbase.clone(), fhome),
            (frz.join(format!("memmux-{pid}")), frz.clone())
        );
        assert!(super::super::release_hierarchy(&h).is_empty());
        assert!(!h.base.exists() && !fbase.exists());

        // Not writable (a file where the cgroup should be).
        std::fs::remove_dir_all(mem.join("a/b")).unwrap();
        std::fs::write(mem.join("a/b"), "").unwrap();
        let Plan::Use(Mechanism::None(why)) = choose(&probe, &Settings::default(), &[]) else {
            panic!("expected no mechanism");
        };
        assert!(
            why.contains("cgroup v1 memory controller at") && why.contains("not writable"),
            "{why}"
        );
    }

    #[test]
    fn mount_points_with_spaces_and_own_paths() {
        let mounts = "cgroup /sys/fs/cgroup/my\\040mem cgroup rw,memory 0 0\n";
        assert_eq!(
            mount_point(mounts, "cgroup", Some("memory")),
            Some(PathBuf::from("/sys/fs/cgroup/my mem"))
        );
        assert_eq!(mount_point(mounts, "cgroup", Some("freezer")), None);
        let pc = "9:name=systemd:/\n4:memory:/x/y\n1:cpu,cpuacct:/z\n0::/u\n";
        assert_eq!(own_path(pc, "memory").as_deref(), Some("/x/y"));
        assert_eq!(own_path(pc, "cpuacct").as_deref(), Some("/z"));
        assert_eq!(own_path(pc, "").as_deref(), Some("/u"));
    }

    /// A memmux that died without cleaning up left `memmux-<pid>/tab-*/pane-*`: the next one
    /// removes the panes' cgroups, then the tabs', then its base (cgroupfs removes a cgroup
    /// with its files; here the stand-ins are empty directories). A live memmux's stays.
    #[test]
    fn stale_cgroups_of_a_dead_memmux_go_panes_first() {
        let tmp = tempfile::tempdir().unwrap();
        // Pids above the kernel's pid_max (4,194,304 at most) are never alive.
        let dead = tmp.path().join("memmux-4294967294");
        for d in [
            "tab-1-1/pane-1",
            "tab-1-1/pane-2",
            "tab-1-2/pane-3",
            "tab-1-3",
        ] {
            std::fs::create_dir_all(dead.join(d)).unwrap();
        }
        let live = tmp.path().join(format!("memmux-{}", std::process::id()));
        std::fs::create_dir_all(live.join("tab-9-1/pane-1")).unwrap();
        remove_stale(tmp.path());
        assert!(!dead.exists());
        assert!(live.join("tab-9-1/pane-1").exists());
    }
}
