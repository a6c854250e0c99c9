//! # sable-testkit — the harnesses Sable's tests and benchmarks run on
//!
//! Owns: the development network's layout on disk ([`layout`]: a dev PKI, a regulator
//! key pair, one configuration per validator; the `sable-devnet` binary writes and runs
//! it), a loopback devnet of real `sable-node` processes ([`Devnet`]: start/kill/restart,
//! metrics polling, state inspection after the processes stop), an L1 harness on a real anvil with the contracts deployed
//! ([`l1`]), a chain's genesis parameters over a dev PKI ([`genesis`]), and the parties
//! that use them ([`parties`]: banks, issuers, the operator,
//! built on `sable-client`), validators in one process on commonware's
//! deterministic runtime over a simulated network ([`sim`]), and a synthetic chain of
//! many banks' payments without validators or proofs, for the compliance tooling's
//! workloads and benchmarks ([`synthetic`]).
//!
//! Must never: be a normal dependency of the validator or of a participant's program
//! (it is a dev-dependency, and a dependency of the benchmarks and the Quickstart demo
//! only), or bind anything but loopback. Most helpers panic with a clear message on
//! failure, as they serve tests; what the demo and `sable-devnet` call
//! ([`Devnet::try_new`], [`layout::init_devnet`]) returns typed errors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod genesis;
pub mod http;
pub mod l1;
pub mod layout;
pub mod parties;
pub mod sim;
pub mod synthetic;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::atomic::{AtomicU16, Ordering},
    time::{Duration, Instant},
};

use layout::{configs_in, init_devnet, DevnetLayout, LayoutError, PKI_DIR, REGULATOR_SECRET_FILE};
use sable_execution::Applied;
use sable_node::config::NodeConfig;
use sable_node::node::Node;
use sable_primitives::block::{Block, BlockHeader};
use sable_storage::{ChainReader as _, Store};

static NEXT: AtomicU16 = AtomicU16::new(0);

fn ports_free(base: u16, n: usize) -> bool {
    (0..n).all(|i| {
        [0u16, 100, 200].iter().all(|off| {
            TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], base + off + i as u16))).is_ok()
        })
    })
}

/// A running devnet.
pub struct Devnet {
    pub exe: PathBuf,
    /// Where the network's files live (PKI, configurations, data, logs).
    pub dir: PathBuf,
    /// The temporary directory, removed on drop; `None` for a devnet kept in a
    /// directory of the caller's ([`Devnet::at`]).
    _temp: Option<tempfile::TempDir>,
    pub configs: Vec<PathBuf>,
    pub children: Vec<Option<Child>>,
}

/// The file listing a kept devnet's configuration files, one per line.
const CONFIGS_LIST: &str = "configs.txt";

/// A port base whose devnet ports are all free. Every port stays below 32768, where
/// Linux's ephemeral range starts: an outgoing connection of a test running beside
/// this one cannot take a port between this check and the validator's bind (a
/// validator whose metrics port was taken ran without its metrics endpoint).
pub fn free_base(n: usize) -> u16 {
    let seed = (std::process::id() % 97) as u16;
    loop {
        let k = NEXT.fetch_add(1, Ordering::SeqCst);
        let base = 20_000 + ((seed * 13 + k * 7) % 40) * 300;
        if ports_free(base, n) {
            return base;
        }
    }
}

impl Devnet {
    /// Writes a fresh network of `n` validators (not started), run with the `sable-node`
    /// binary at `exe`.
    pub fn new(exe: impl Into<PathBuf>, n: usize) -> Self {
        Self::try_new(exe, n).unwrap()
    }

    /// [`Devnet::new`], returning why the network could not be written.
    pub fn try_new(exe: impl Into<PathBuf>, n: usize) -> Result<Self, LayoutError> {
        let dir = tempfile::tempdir().map_err(|source| LayoutError::Io {
            path: std::env::temp_dir().display().to_string(),
            source,
        })?;
        let DevnetLayout { configs, .. } = init_devnet(dir.path(), n, free_base(n))?;
        Ok(Devnet {
            exe: exe.into(),
            dir: dir.path().to_path_buf(),
            _temp: Some(dir),
            children: (0..n).map(|_| None).collect(),
            configs,
        })
    }

    /// The devnet already written in `dir` (by [`init_devnet`] or `sable-devnet init`),
    /// not started and not removed on drop; `None` when `dir` holds no devnet.
    pub fn open(exe: impl Into<PathBuf>, dir: &Path) -> Option<Self> {
        let configs = configs_in(dir);
        (!configs.is_empty()).then(|| Devnet {
            exe: exe.into(),
            dir: dir.to_path_buf(),
            _temp: None,
            children: configs.iter().map(|_| None).collect(),
            configs,
        })
    }

    /// The dev PKI's directory: the CA, and a certificate and key per participant
    /// (`bank-a.pem`, `bank-a.key`, `operator-0.pem`, …).
    pub fn pki(&self) -> PathBuf {
        self.dir.join(PKI_DIR)
    }

    /// The regulator's secret key file (hex).
    pub fn regulator_secret(&self) -> PathBuf {
        self.pki().join(REGULATOR_SECRET_FILE)
    }

    /// A devnet of `n` validators kept in `dir` (not started, not removed on drop):
    /// reopened with its state when `dir` holds one, written fresh otherwise. A reopened
    /// devnet keeps its ports, which must be free.
    pub fn at(exe: impl Into<PathBuf>, dir: &Path, n: usize) -> Self {
        let list = dir.join(CONFIGS_LIST);
        let configs: Vec<PathBuf> = if list.exists() {
            std::fs::read_to_string(&list)
                .unwrap()
                .lines()
                .map(PathBuf::from)
                .collect()
        } else {
            std::fs::create_dir_all(dir).unwrap();
            let configs = init_devnet(dir, n, free_base(n)).unwrap().configs;
            let text: Vec<String> = configs.iter().map(|c| c.display().to_string()).collect();
            std::fs::write(&list, text.join("\n")).unwrap();
            configs
        };
        assert_eq!(
            configs.len(),
            n,
            "{} lists another devnet size",
            list.display()
        );
        let net = Devnet {
            exe: exe.into(),
            dir: dir.to_path_buf(),
            _temp: None,
            children: (0..n).map(|_| None).collect(),
            configs,
        };
        for i in 0..n {
            let cfg = net.config(i);
            for addr in [cfg.network.rpc, cfg.network.p2p, cfg.network.metrics] {
                assert!(
                    TcpListener::bind(addr).is_ok(),
                    "port {addr} of the devnet in {} is taken",
                    dir.display()
                );
            }
        }
        net
    }

    pub fn config(&self, i: usize) -> NodeConfig {
        NodeConfig::load(&self.configs[i]).unwrap()
    }

    /// Starts validator `i`, with extra environment variables.
    pub fn start_with(&mut self, i: usize, env: &[(&str, &str)]) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.configs[i].with_file_name("node.log"))
            .unwrap();
        let mut cmd = Command::new(&self.exe);
        cmd.args(["run", "--config"])
            .arg(&self.configs[i])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.children[i] = Some(cmd.spawn().unwrap());
    }

    /// The process id of validator `i`, if running.
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.children[i].as_ref().map(Child::id)
    }

    pub fn start(&mut self, i: usize) {
        self.start_with(i, &[]);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.configs.len() {
            self.start(i);
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if c.try_wait().unwrap().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn stop_all(&mut self) {
        for i in 0..self.children.len() {
            self.stop(i);
        }
    }

    /// The validators whose processes exited on their own since the last call, each
    /// with its exit status, reported once.
    pub fn exited(&mut self) -> Vec<(usize, std::process::ExitStatus)> {
        let mut out = Vec::new();
        for (i, slot) in self.children.iter_mut().enumerate() {
            if let Some(status) = slot.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                *slot = None;
                out.push((i, status));
            }
        }
        out
    }

    /// Waits for validator `i`'s process to exit on its own; returns whether it did.
    pub fn wait_exit(&mut self, i: usize, timeout: Duration) -> bool {
        self.wait_exit_status(i, timeout).is_some()
    }

    /// Waits up to `timeout` for validator `i` to exit on its own; its exit status.
    pub fn wait_exit_status(
        &mut self,
        i: usize,
        timeout: Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(c) = self.children[i].as_mut() {
                if let Some(status) = c.try_wait().unwrap() {
                    self.children[i] = None;
                    return Some(status);
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// The metric `name` of validator `i`, if it answers.
    pub fn metric(&self, i: usize, name: &str) -> Option<f64> {
        let addr = self.config(i).network.metrics;
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(s, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
        let mut body = String::new();
        s.read_to_string(&mut body).ok()?;
        body.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    }

    pub fn height(&self, i: usize) -> Option<u64> {
        self.metric(i, "sable_height").map(|h| h as u64)
    }

    /// Waits until `cond` holds; panics naming `what` on timeout.
    pub fn wait_until(&self, timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if cond() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting until {what}");
    }

    /// Waits until validator `i` reaches `height`; panics with the log tail on timeout.
    pub fn wait_height(&self, i: usize, height: u64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.height(i).unwrap_or(0) >= height {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "validator {i} did not reach height {height} (at {:?}); log tail:\n{}",
            self.height(i),
            self.log_tail(i)
        );
    }

    pub fn log_tail(&self, i: usize) -> String {
        let log =
            std::fs::read_to_string(self.configs[i].with_file_name("node.log")).unwrap_or_default();
        let lines: Vec<_> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The last `n` lines of validator `i`'s log that contain any of `patterns`.
    pub fn log_lines(&self, i: usize, patterns: &[&str], n: usize) -> String {
        let log =
            std::fs::read_to_string(self.configs[i].with_file_name("node.log")).unwrap_or_default();
        let lines: Vec<_> = log
            .lines()
            .filter(|l| patterns.iter().any(|p| l.contains(p)))
            .collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Opens validator `i`'s state (its process must be stopped).
    pub fn store(&self, i: usize) -> Store {
        Store::open(&self.config(i).node.data_dir.join("state")).unwrap()
    }

    /// Every header of validator `i`'s stopped state, from height 1; panics unless the
    /// invariants hold and every height up to the tip has its block and header.
    pub fn headers(&self, i: usize) -> Vec<BlockHeader> {
        let store = self.store(i);
        store.check_invariants().unwrap();
        let tip = store.height().unwrap();
        (1..=tip)
            .map(|h| {
                assert!(
                    store.block(h).unwrap().is_some(),
                    "validator {i}: no block {h}"
                );
                store
                    .header(h)
                    .unwrap()
                    .unwrap_or_else(|| panic!("validator {i}: no header {h}"))
            })
            .collect()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// Asserts every pair of validators agrees on every height both reached.
pub fn assert_agree(net: &Devnet) -> Vec<Vec<BlockHeader>> {
    let all: Vec<_> = (0..net.configs.len()).map(|i| net.headers(i)).collect();
    for (i, hs) in all.iter().enumerate().skip(1) {
        let common = hs.len().min(all[0].len());
        assert!(common > 0, "validator {i} applied nothing");
        assert_eq!(
            hs[..common],
            all[0][..common],
            "validator {i} disagrees with validator 0"
        );
    }
    all
}

/// Applies a block holding operator commands `admin` on `node`'s tip, as consensus would
/// (stamped now: certificates are checked against the block's time).
pub async fn apply_admin_block(node: &std::sync::Arc<Node>, admin: Vec<Vec<u8>>) -> Applied {
    apply_block(node, admin, vec![]).await
}

/// Applies a block of operator commands `admin` and transactions `txs` on `node`'s tip,
/// as consensus would, whatever admission would say of them (a leader may propose
/// anything): stamped now, and after its parent.
pub async fn apply_block(
    node: &std::sync::Arc<Node>,
    admin: Vec<Vec<u8>>,
    transactions: Vec<Vec<u8>>,
) -> Applied {
    let tip = node.chain().tip().unwrap().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let block = Block {
        height: tip.height + 1,
        parent: tip.hash,
        timestamp_ms: now.max(tip.timestamp_ms + 1),
        state: tip.state_ref(),
        transactions,
        admin,
    };
    let node = node.clone();
    tokio::task::spawn_blocking(move || node.apply_finalized(&block))
        .await
        .unwrap()
        .unwrap()
}
