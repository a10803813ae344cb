//! The server as a client starts it: forked from the client (no second run of memmux), twice,
//! so that it is no child of the client; clients that start at once share one server.

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::server::{command, first_client, stderr, stdout};

/// The fields of `/proc/PID/stat` after the command name: state, ppid, ...
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = text.rsplit_once(')')?.1;
    Some(after.split_whitespace().map(str::to_string).collect())
}

/// Processes whose parent is `parent`, with their state (`Z`: a zombie nobody reaped).
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let f = stat_fields(pid)?;
            (f.get(1)?.parse::<u32>().ok()? == parent).then(|| (pid, f[0].clone()))
        })
        .collect()
}

/// The server's pid, from `MEMMUX` (`socket,server pid,session`) in the environment of the
/// processes under `run` (the sessions were started with it).
fn server_pids(run: &Path) -> HashSet<u32> {
    let socket = run.join("memmux").join("default").display().to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashSet::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| std::fs::read(format!("/proc/{pid}/environ")).ok())
        .flat_map(|env| {
            env.split(|&b| b == 0)
                .filter_map(|v| {
                    let v = std::str::from_utf8(v).ok()?.strip_prefix("MEMMUX=")?;
                    let mut f = v.split(',');
                    (f.next()? == socket).then_some(())?;
                    f.next()?.parse::<u32>().ok()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_server_a_client_starts_is_no_child_of_it_and_leaves_no_zombie() {
    let m = first_client();
    let run = common::server::run_dir(&m);
    let servers = server_pids(&run);
    assert_eq!(servers.len(), 1, "one server: {servers:?}");
    let server = *servers.iter().next().unwrap_or(&0);
    let client = m.pid();
    // The client started the server: it forked a middle process that forked the server and
    // exited; the client reaped it, and the server's parent is not the client.
    let kids = children_of(client);
    assert!(
        kids.iter().all(|(pid, _)| *pid != server),
        "the server {server} is a child of the client {client}: {kids:?}"
    );
    assert!(
        kids.iter().all(|(_, state)| state != "Z"),
        "a zombie child of the client {client}: {kids:?}"
    );
    let fields = stat_fields(server).unwrap_or_default();
    // A session of its own (it left the client's terminal): its session id is its pid.
    assert_eq!(
        fields.get(3).map(String::as_str),
        Some(server.to_string().as_str()),
        "the server leads a session of its own: {fields:?}"
    );
    // And it serves: a second session, listed beside the first.
    let out = command(&m, &["new", "-d", "-s", "second", "--", "sleep", "1000"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ls = stdout(&command(&m, &["ls"]));
    assert!(ls.contains("0: ") && ls.contains("second: "), "{ls}");
    // The session the server started for the first client with itself is the one the
    // client's request took: no second session was made for it.
    assert_eq!(ls.lines().count(), 2, "{ls}");
    // The first session is a fork of the server, not a second run of memmux: it kept the
    // client's command line, while the second one was run as `memmux --session-fd 3`.
    let sessions: Vec<String> = children_of(server)
        .into_iter()
        .filter_map(|(pid, _)| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .collect();
    assert_eq!(sessions.len(), 2, "the server's children: {sessions:?}");
    let execed = sessions
        .iter()
        .filter(|c| c.contains("--session-fd"))
        .count();
    assert_eq!(execed, 1, "one session exec'ed, one forked: {sessions:?}");
}

/// The server starts the first client's session before that client connects; a client that
/// dies in between leaves no session behind: the session ends when nobody took it, and with
/// it the server (which exits only once a session it had ended).
#[test]
fn a_first_session_nobody_asks_for_ends_with_its_server() {
    let mut m = common::Mux::start_with(common::Opts {
        server: true,
        env: vec![
            ("MEMMUX_TEST_CLIENT_DIES_BEFORE_CONNECT", "1".to_string()),
            ("MEMMUX_TEST_FIRST_CLAIM_MS", "1500".to_string()),
        ],
        ..common::Opts::default()
    });
    assert_eq!(m.wait_exit(), 3, "the client left before connecting");
    let run = common::server::run_dir(&m);
    let socket = common::server::socket(&m);
    let log = m.home().join("data/memmux/memmux.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // The session started, nobody took it, it was ended, and the server with it.
    common::wait_until("the unclaimed session to end", common::TIMEOUT, || {
        read_log().contains("server exits: no sessions left")
    });
    let text = read_log();
    assert!(text.contains("session 0 started"), "{text}");
    assert!(
        text.contains("session 0 ended: the client that started the server never asked"),
        "{text}"
    );
    common::wait_until("the server to end", common::TIMEOUT, || {
        !socket.exists() && server_pids(&run).is_empty()
    });
    let out = command(&m, &["ls"]);
    assert!(!out.status.success(), "a server answers: {}", stdout(&out));
    assert!(
        stderr(&out).contains("no memmux server"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn clients_that_start_at_once_share_one_server() {
    let m = first_client();
    let out = command(&m, &["kill-server"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut m = m;
    m.wait_exit();
    let run = common::server::run_dir(&m);
    common::wait_until("the old server to go", common::TIMEOUT, || {
        server_pids(&run).is_empty()
    });
    // Four clients, no server: each tries to start one.
    let starts: Vec<_> = (0..4)
        .map(|i| {
            let (run, home) = (run.clone(), m.home().to_path_buf());
            std::thread::spawn(move || {
                std::process::Command::new(common::bin())
                    .args(["new", "-d", "-s", &format!("s{i}"), "--", "sleep", "1000"])
                    .env("XDG_RUNTIME_DIR", run)
                    .env("HOME", home)
                    .env_remove("MEMMUX_NO_SERVER")
                    .env_remove("MEMMUX")
                    .stdin(std::process::Stdio::null())
                    .output()
            })
        })
        .collect();
    for s in starts {
        let out = s.join().expect("thread").expect("run memmux");
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let ls = stdout(&command(&m, &["ls"]));
    for i in 0..4 {
        assert!(ls.contains(&format!("s{i}: ")), "{ls}");
    }
    let servers = server_pids(&run);
    assert_eq!(servers.len(), 1, "one server for the four: {servers:?}");
    let out = command(&m, &["kill-server"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A server whose binary was deleted or replaced while it runs (an upgrade, a rebuild) still
/// starts sessions: they run the server's own binary through `/proc/self/exe`. Its path then
/// named "memmux (deleted)", and every new session failed with "No such file or directory".
#[test]
fn a_server_whose_binary_was_replaced_still_starts_sessions() {
    let home = tempfile::tempdir().expect("temp dir");
    let run = home.path().join("run");
    std::fs::create_dir_all(&run).expect("run dir");
    let copy = home.path().join("memmux-old");
    std::fs::copy(common::bin(), &copy).expect("copy memmux");
    let memmux = |bin: &Path, args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .env("XDG_RUNTIME_DIR", &run)
            .env("HOME", home.path())
            .env_remove("MEMMUX_NO_SERVER")
            .env_remove("MEMMUX")
            .output()
            .expect("run memmux")
    };
    let first = memmux(&copy, &["new", "-d", "-s", "before"]);
    assert!(first.status.success(), "{}", stderr(&first));
    // The upgrade: the server's file is gone; a client of the same version asks for more.
    std::fs::remove_file(&copy).expect("remove the copy");
    let second = memmux(Path::new(common::bin()), &["new", "-d", "-s", "after"]);
    let listed = memmux(Path::new(common::bin()), &["ls"]);
    let _ = memmux(Path::new(common::bin()), &["kill-server"]);
    assert!(
        second.status.success(),
        "a new session after the server's binary went: {}",
        stderr(&second)
    );
    assert!(stdout(&listed).contains("after:"), "{}", stdout(&listed));
}
