//! The `sable-devnet` launcher, run as a developer runs it (node review, requirement
//! row 17): `init` writes a network, refuses to overwrite one without `--force` and
//! refuses layouts that cannot exist, writing nothing; its validators' configurations
//! give one genesis digest (`sable-node genesis`), which an edited parameter changes; `up` starts the validators,
//! which finalize, stops them all on SIGTERM and exits cleanly, resumes the same chain
//! when run again, and reports a validator that exits on its own while the others go on.
//!
//! `up` runs the `sable-node` beside `sable-devnet`, which the workspace's test build
//! puts there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use sable_testkit::{free_base, Devnet};

const T: Duration = Duration::from_secs(90);

fn launcher() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sable-devnet"))
}

fn node_binary() -> PathBuf {
    let node = Path::new(env!("CARGO_BIN_EXE_sable-devnet")).with_file_name("sable-node");
    assert!(
        node.exists(),
        "{} is missing: `cargo build --release -p sable-node` (the workspace's test build makes it)",
        node.display()
    );
    node
}

fn init(dir: &Path, args: &[&str]) -> Output {
    launcher()
        .arg("init")
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn init_writes_a_network_and_refuses_to_overwrite_it_or_to_lay_out_nonsense() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let base = free_base(4).to_string();
    let out = init(&dir, &["--validators", "4", "--base-port", &base]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let configs: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("config:"))
        .map(str::trim)
        .collect();
    assert_eq!(configs.len(), 4, "{stdout}");
    assert!(configs.iter().all(|c| Path::new(c).exists()), "{stdout}");
    let written = files(&dir);
    let keys: Vec<_> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "key"))
        .collect();
    assert!(!keys.is_empty(), "no key files in {written:?}");
    for key in keys {
        let mode = fs::metadata(key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is readable by others", key.display());
    }

    // Every validator's configuration describes one genesis, which `sable-node genesis`
    // prints for operators to compare; another parameter in one of them shows at once.
    let genesis = |config: &str| {
        let out = Command::new(node_binary())
            .args(["genesis", "--config", config])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("genesis:"))
            .map(|d| d.trim().to_string())
            .unwrap_or_else(|| panic!("no genesis line in {stdout}"))
    };
    let digests: Vec<String> = configs.iter().map(|c| genesis(c)).collect();
    assert_eq!(digests[0].len(), 64, "{digests:?}");
    assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
    let edited = tmp.path().join("edited.toml");
    let mut cfg = sable_node::config::NodeConfig::load(Path::new(configs[3])).unwrap();
    cfg.chain.registry_root_window += 1;
    cfg.save(&edited).unwrap();
    assert_ne!(genesis(edited.to_str().unwrap()), digests[0]);
    cfg.tls.ca = tmp.path().join("no-such-ca.pem");
    cfg.save(&edited).unwrap();
    let out = Command::new(node_binary())
        .args(["genesis", "--config", edited.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no-such-ca.pem"),
        "{}",
        text(&out.stderr)
    );
    fs::remove_file(&edited).unwrap();

    // A second init leaves the network as it was; --force replaces it.
    let before: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    let again = init(&dir, &["--base-port", &base]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already holds a network (use --force to replace it)"),
        "{}",
        text(&again.stderr)
    );
    let after: Vec<Vec<u8>> = written.iter().map(|p| fs::read(p).unwrap()).collect();
    assert!(before == after, "a refused init changed the network");
    let forced = init(&dir, &["--base-port", &base, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    let replaced: Vec<Vec<u8>> = written
        .iter()
        .map(|p| fs::read(p).unwrap_or_default())
        .collect();
    assert!(before != replaced, "--force left the network as it was");

    // Layouts that cannot exist: a typed refusal, nothing written.
    for (args, says) in [
        (&["--validators", "0"][..], "cannot lay out the devnet"),
        (
            &["--validators", "4", "--base-port", "65400"][..],
            "too high",
        ),
    ] {
        let fresh = tmp.path().join(format!("bad-{}", args[1]));
        let out = init(&fresh, args);
        assert!(!out.status.success(), "{args:?} was laid out");
        assert!(
            text(&out.stderr).contains(says),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            files(&fresh).is_empty(),
            "{args:?} wrote {:?}",
            files(&fresh)
        );
    }
}

/// `sable-devnet up` in `dir`, its output going to files there.
fn up(dir: &Path, base: &str) -> Child {
    fs::create_dir_all(dir).unwrap();
    let out = fs::File::create(dir.join("up.out")).unwrap();
    let err = fs::File::create(dir.join("up.err")).unwrap();
    launcher()
        .arg("up")
        .arg("--dir")
        .arg(dir)
        .args(["--validators", "4", "--base-port", base])
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
}

/// SIGTERMs `up` and waits for it to stop its validators and exit; its exit status.
fn terminate(mut up: Child) -> std::process::ExitStatus {
    let _ = Command::new("kill").arg(up.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(100);
    while Instant::now() < deadline {
        if let Some(status) = up.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = up.kill();
    panic!("sable-devnet up did not exit after SIGTERM");
}

fn heights(net: &Devnet) -> Vec<Option<u64>> {
    (0..net.configs.len()).map(|i| net.height(i)).collect()
}

#[test]
fn up_runs_the_network_until_sigterm_resumes_it_and_reports_a_validator_that_exits() {
    let node = node_binary();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let base = free_base(4).to_string();

    // A directory without a network: up writes one, and its validators finalize.
    let first = up(&dir, &base);
    let net = {
        let deadline = Instant::now() + T;
        loop {
            if let Some(net) = Devnet::open(&node, &dir) {
                if net.configs.len() == 4 {
                    break net;
                }
            }
            assert!(Instant::now() < deadline, "up wrote no network");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    net.wait_until(T, "every validator finalizes height 3", || {
        heights(&net).iter().all(|h| h.unwrap_or(0) >= 3)
    });
    let reached = heights(&net);
    let status = terminate(first);
    assert!(
        status.success(),
        "up exited {status}: {}",
        text(&fs::read(dir.join("up.err")).unwrap())
    );
    let started = fs::read_to_string(dir.join("up.out")).unwrap();
    assert_eq!(started.matches("started ").count(), 4, "{started}");
    // Every validator stopped with it (and so left its state to be read).
    assert!(
        heights(&net).iter().all(Option::is_none),
        "a validator still answers after up exited: {:?}",
        heights(&net)
    );
    let chain = net.headers(0);

    // Run again with validator 3's gRPC port taken: it exits at start and up says so;
    // the other three (a quorum) resume the same chain from their data and go on.
    let rpc3 = net.config(3).network.rpc;
    let squatter = std::net::TcpListener::bind(rpc3).unwrap();
    let second = up(&dir, &base);
    let up_err = || fs::read_to_string(dir.join("up.err")).unwrap_or_default();
    net.wait_until(T, "up reports that validator 3 exited", || {
        up_err().contains("validator 3 exited")
    });
    let floor = reached[..3].iter().map(|h| h.unwrap()).max().unwrap();
    net.wait_until(T, "validators 0-2 finalize past where they stopped", || {
        (0..3).all(|i| net.height(i).unwrap_or(0) > floor + 2)
    });
    let status = terminate(second);
    drop(squatter);
    assert!(status.success(), "up exited {status}: {}", up_err());
    assert!(heights(&net).iter().all(Option::is_none));
    // What they resumed is the chain they had, extended.
    let resumed = net.headers(0);
    assert!(resumed.len() > chain.len() + 2);
    assert!(
        resumed[..chain.len()] == chain[..],
        "validator 0's chain was rewritten"
    );
}
