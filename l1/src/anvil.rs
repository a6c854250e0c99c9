//! An anvil process on loopback for tests and benchmarks (feature `test-utils`):
//! started on a port of its own choosing, stopped on drop. The binary is `$SABLE_ANVIL` (set by
//! `scripts/env.sh` to the npm-installed one) or `anvil` on the path.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// Anvil's well-known development keys (from its public default mnemonic): never
/// anything but local test funds.
pub const DEV_KEYS: [&str; 4] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

pub struct Anvil {
    child: Option<Child>,
    pub port: u16,
    extra: Vec<String>,
}

impl Anvil {
    /// Starts anvil on a loopback port of its own choosing (`--port 0`, read back from
    /// its output, so parallel tests never race for one) with `extra` arguments.
    pub fn start(extra: &[&str]) -> Self {
        let mut anvil = Anvil {
            child: None,
            port: 0,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        anvil.spawn();
        anvil
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts anvil on `self.port` (0: any free port, then remembered) and waits until it
    /// listens.
    fn spawn(&mut self) {
        let exe = std::env::var("SABLE_ANVIL").unwrap_or_else(|_| "anvil".into());
        let mut child = Command::new(&exe)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {exe}: {e} (run scripts/env.sh first)"));
        // anvil says where it listens; the rest of its output is drained and dropped.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr.trim().to_string());
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{exe} did not report a listening address"));
        let addr: SocketAddr = addr.parse().unwrap();
        self.port = addr.port();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "anvil did not start on {addr}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills anvil (its chain is gone) and starts a fresh one on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops anvil with SIGINT, so that one started with `--state FILE` writes its
    /// chain there, and starts it again on the same port with the same arguments (it
    /// loads the chain back).
    pub fn restart_keeping_state(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while c.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = c.kill();
                    let _ = c.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        self.spawn();
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.stop();
    }
}
