//! Stock gRPC clients connect (issue 22): Google's grpcio, the C core behind the Python,
//! C++, Ruby and PHP clients, against the node's API over mutual TLS with dev-PKI
//! certificates — health, reflection and real calls.
//!
//! Runs `tests/grpcio/stock_client.py` with the venv of `scripts/grpcio-venv.sh`
//! (created once under `$HOME/.cache/sable/venv` from PyPI). Loopback only; the node is
//! started and stopped here; every client run is bounded in time.
#![allow(clippy::unwrap_used)]

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use sable_node::rpc;
use sable_pki::{generate_dev_pki, CertificateAuthority, DevPki, DevPkiSpec};
use tokio::net::TcpListener;

mod common;
use common::api::{validator_0_server, ApiNode};

/// How long one run of the Python client may take (a handshake that never completes
/// gives up after its own 15 s).
const CLIENT_LIMIT: Duration = Duration::from_secs(120);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The venv's python, created on first use.
async fn python() -> PathBuf {
    let out = tokio::time::timeout(
        Duration::from_secs(900),
        tokio::process::Command::new("bash")
            .arg(repo_root().join("scripts/grpcio-venv.sh"))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("creating the grpcio venv timed out")
    .unwrap();
    assert!(
        out.status.success(),
        "scripts/grpcio-venv.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs the stock client against `addr` as `participant`; its exit status and JSON.
async fn stock_client(
    pki: &DevPki,
    addr: &str,
    participant: &str,
    block_height: u64,
    connect_timeout_s: u32,
) -> (i32, serde_json::Value) {
    let id = pki.identity(participant).unwrap();
    let out = tokio::time::timeout(
        CLIENT_LIMIT,
        tokio::process::Command::new(python().await)
            .arg(repo_root().join("node/tests/grpcio/stock_client.py"))
            .args(["--addr", addr, "--server-name", "validator-0.sable.local"])
            .arg("--ca")
            .arg(&pki.ca_cert)
            .arg("--cert")
            .arg(&id.cert)
            .arg("--key")
            .arg(&id.key)
            .args(["--block-height", &block_height.to_string()])
            .args(["--connect-timeout", &connect_timeout_s.to_string()])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the stock client ran past its limit")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "stock client printed no JSON ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stock_grpcio_client_checks_health_reflects_and_calls() {
    let net = ApiNode::start(&DevPkiSpec::default(), validator_0_server).await;
    let block = sable_testkit::apply_admin_block(&net.node, vec![])
        .await
        .header;
    assert_eq!(block.height, 1);

    let (rc, out) = stock_client(&net.pki, &net.addr, "bank-a", 1, 15).await;
    println!("stock client as bank-a: {out}");
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out["health"][""], "SERVING", "{out}");
    assert_eq!(out["health"]["sable.v1.Chain"], "SERVING", "{out}");
    let services: Vec<&str> = out["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    for s in [
        "sable.v1.Chain",
        "sable.v1.Transactions",
        "sable.v1.Admin",
        "grpc.health.v1.Health",
    ] {
        assert!(services.contains(&s), "{s} in {services:?}");
    }
    // Real calls, answered with the node's own state.
    assert_eq!(out["status"]["node_id"], "validator-0", "{out}");
    assert_eq!(out["status"]["height"], 1, "{out}");
    assert_eq!(out["status"]["validators"], 4, "{out}");
    assert_eq!(
        out["status"]["chain_id"],
        hex::encode(sable_circuits::transaction::ChainId::from_namespace("sable-test").0),
        "{out}"
    );
    assert_eq!(out["block"]["height"], 1, "{out}");
    assert_eq!(out["block"]["hash"], hex::encode(block.hash.0), "{out}");
    // The role from the certificate still decides: a bank may not list participants...
    assert_eq!(out["admin"], "PERMISSION_DENIED", "{out}");
    // ...and an operator (P-256 as well) may.
    let (rc, out) = stock_client(&net.pki, &net.addr, "operator-0", 1, 15).await;
    assert_eq!(rc, 0, "{out}");
    assert_eq!(out["admin"], "OK", "{out}");
    net.stop().await;
}

/// What issue 22 reported, kept as a must-fail case: a port presenting an Ed25519
/// certificate (the validators' p2p certificate, what every party held before) shares
/// no signature scheme with grpcio, whose handshake never completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ed25519_server_certificate_shares_no_signature_scheme_with_grpcio() {
    let dir = tempfile::tempdir().unwrap();
    let pki = generate_dev_pki(dir.path(), &DevPkiSpec::default()).unwrap();
    let ca = CertificateAuthority::load(&pki.ca_cert).unwrap();
    let v0 = pki.identity("validator-0").unwrap();
    let config = rpc::tls::server_config(&v0.cert, &v0.key, &ca).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let first_error = tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            if let Err(e) = acceptor.accept(tcp).await {
                return e;
            }
        }
    });
    let (rc, out) = stock_client(&pki, &addr, "bank-a", 0, 5).await;
    println!("stock client against an Ed25519 server certificate: {out}");
    assert_eq!(rc, 3, "{out}");
    let e = tokio::time::timeout(Duration::from_secs(10), first_error)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        e.get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .cloned(),
        Some(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::NoSignatureSchemesInCommon
        )),
        "{e:?}"
    );
    println!("the server's handshake error: {e}");
}
