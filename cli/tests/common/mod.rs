//! What the command-line tests share: running `sable`, and a devnet with two banks.
#![allow(dead_code, clippy::unwrap_used)]

use std::{path::Path, process::Command, time::Duration};

use sable_circuits::asset::AssetId;
use sable_client::{node_client::NodeClient, wallet::settle};
use sable_testkit::{
    parties::{connect, header, two_banks, TwoBanks},
    Devnet,
};

/// Runs `sable` with `args`; its exit status, stdout and stderr.
pub fn sable<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sable"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `p` as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A running 4-validator devnet (the validator binary beside `sable`: the workspace's
/// test build makes both) and two banks registered on it, with an issuer.
pub async fn devnet_with_two_banks() -> (Devnet, TwoBanks) {
    let node_exe = Path::new(env!("CARGO_BIN_EXE_sable")).with_file_name("sable-node");
    assert!(
        node_exe.exists(),
        "{} is missing: `cargo build --release -p sable-node`",
        node_exe.display()
    );
    let mut net = Devnet::new(node_exe.to_str().unwrap(), 4);
    net.start_all();
    net.wait_height(0, 2, Duration::from_secs(90));
    let banks = two_banks(&net.config(0)).await;
    (net, banks)
}

/// `--node`, `--ca`, `--cert` and `--key` for validator 0 of `net`, as the consortium
/// party `who` (`regulator-0`, `auditor-0`, `bank-a`, …).
pub fn connection(net: &Devnet, who: &str) -> Vec<String> {
    let cfg = net.config(0);
    let pki = cfg.tls.ca.parent().unwrap();
    let path = |ext: &str| {
        pki.join(format!("{who}.{ext}"))
            .to_str()
            .unwrap()
            .to_owned()
    };
    vec![
        "--node".into(),
        cfg.network.rpc.to_string(),
        "--ca".into(),
        s(&cfg.tls.ca).into(),
        "--cert".into(),
        path("pem"),
        "--key".into(),
        path("key"),
    ]
}

/// Bank A's client on validator 0, once the issuer has issued Bank A 1,000 USD (final):
/// the client and the asset.
pub async fn usd_to_a(net: &Devnet, parties: &TwoBanks) -> (NodeClient, AssetId) {
    let mut client = connect(&net.config(0), "bank-a").await;
    let h = header(&mut client).await;
    let (issue, _) = parties
        .issuer
        .issue(h, "USD", parties.a.address(), &[1_000]);
    settle(&mut client, &issue).await.unwrap();
    (client, issue.issuances[0].asset())
}
