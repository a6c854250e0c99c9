//! `sable disclose` and `sable verify-disclosure` as a compliance officer and an
//! auditor run them, against a real 4-validator devnet: Bank B's officer, holding only
//! the full viewing key its bank exported (`sable keys viewing-key`), discloses the
//! asset and value of a payment B received to "FCA"; the auditor, as FCA, checks it
//! against its node and sees the value and not the owner; a second showing, a package
//! for someone else, an altered package and careless input are refused with a message
//! and exit status 1. Bank A's officer discloses the same note as its sender, owner
//! included. B's officer also scans the chain with the viewing key alone and reports
//! on its own bank (`sable audit scan|report --viewing-key`). The node's `Compliance`
//! service checks a package for the auditor it names, once, and refuses it to anyone
//! else.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use sable_circuits::keys::SpendingKey;
use sable_client::{node_client::ClientError, wallet::Wallet};
use sable_compliance::disclose::open_output;
use sable_testkit::parties::{connect, pay_from_wallet, TwoBanks};

mod common;
use common::{connection, devnet_with_two_banks, s, sable, usd_to_a};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_officer_discloses_a_note_and_an_auditor_verifies_it_once() {
    let (mut net, parties) = devnet_with_two_banks().await;
    let (mut client_a, usd) = usd_to_a(&net, &parties).await;
    let TwoBanks {
        regulator: reg,
        a,
        b,
        ..
    } = parties;
    let mut wallet = Wallet::new("Bank A", a.sk.clone());
    let (to_b, _) =
        pay_from_wallet(&mut client_a, reg, &a, &mut wallet, usd, b.address(), 300).await;
    let tx = hex::encode(sable_primitives::block::TxId::of(&to_b.to_bytes()).0);
    let output = (0..to_b.commitments().len() as u32)
        .find(|i| {
            open_output(&to_b, *i, &b.sk.full_viewing_key())
                .is_some_and(|n| n.owner() == b.address())
        })
        .unwrap()
        .to_string();

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    // Each bank exports its full viewing key for its officer.
    for (name, bank) in [("a", &a), ("b", &b)] {
        std::fs::write(file(&format!("{name}.sk")), hex::encode(bank.sk.to_bytes())).unwrap();
        let (code, out, err) = sable(&[
            "keys",
            "viewing-key",
            "--spending-key",
            s(&file(&format!("{name}.sk"))),
        ]);
        assert_eq!(code, 0, "{err}");
        std::fs::write(file(&format!("{name}.fvk")), out.trim()).unwrap();
    }

    // B's officer scans the chain with the viewing key into an archive of its own and
    // reports on its bank: 300 USD, from a sender it cannot name.
    let archive = file("b.archive");
    let view = |sub: &str, extra: &[&str]| {
        let mut args: Vec<String> = ["audit", sub].map(String::from).to_vec();
        if sub == "scan" {
            args.extend(connection(&net, "bank-b"));
        }
        args.extend(
            ["--viewing-key", s(&file("b.fvk")), "--archive", s(&archive)]
                .into_iter()
                .chain(extra.iter().copied())
                .map(String::from),
        );
        tokio::task::block_in_place(|| sable(&args))
    };
    let (code, _, err) = view("scan", &["--json"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = view("report", &["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let positions: Vec<(&str, &str, u64)> = report["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["participant"].as_str().unwrap(),
                p["asset"].as_str().unwrap(),
                p["value"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(positions, [("Bank B", "USD", 300)]);
    let (code, _, err) = view("report", &["--participant", "Bank A"]);
    assert_eq!(code, 1);
    assert!(err.contains("its own bank only"), "{err}");
    let a_sk = file("a.sk");
    let (code, _, err) = view("report", &["--regulator-key", s(&a_sk)]);
    assert_eq!(code, 2, "one key or the other: {err}");

    let disclose_for =
        |to: &str, who: &str, fvk: &str, (tx, output): (&str, &str), reveal: &str, out: &str| {
            let mut args = vec!["disclose".to_owned()];
            args.extend(connection(&net, who));
            args.extend(
                [
                    "--viewing-key",
                    fvk,
                    "--tx",
                    tx,
                    "--output",
                    output,
                    "--reveal",
                    reveal,
                    "--to",
                    to,
                    "--out",
                    out,
                ]
                .map(String::from),
            );
            tokio::task::block_in_place(|| sable(&args))
        };
    let disclose_at = |who: &str, fvk: &str, at: (&str, &str), reveal: &str, out: &str| {
        disclose_for("FCA", who, fvk, at, reveal, out)
    };
    let disclose = |who: &str, fvk: &str, reveal: &str, out: &str| {
        disclose_at(who, fvk, (&tx, &output), reveal, out)
    };
    let disclose_to = |to: &str, fvk: &str, reveal: &str, out: &str| {
        disclose_for(to, "bank-b", fvk, (&tx, &output), reveal, out)
    };
    let record = file("fca.seen");
    let verify = |package: &Path, name: &str| {
        let mut args = vec!["verify-disclosure".to_owned()];
        args.extend(connection(&net, "auditor-0"));
        args.extend(["--as", name, "--record", s(&record), "--json", s(package)].map(String::from));
        tokio::task::block_in_place(|| sable(&args))
    };

    // B's officer discloses asset and value; the auditor, as FCA, accepts it once.
    let received = file("received.json");
    let (code, _, err) = disclose("bank-b", s(&file("b.fvk")), "asset,value", s(&received));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = verify(&received, "FCA");
    assert_eq!(code, 0, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["value"], 300);
    assert_eq!(shown["asset"], hex::encode(usd.0));
    assert_eq!(shown["owner"], serde_json::Value::Null);
    let (code, _, err) = verify(&received, "FCA");
    assert_eq!(code, 1);
    assert!(err.contains("accepted before"), "{err}");
    let (code, _, err) = verify(&received, "SEC");
    assert_eq!(code, 1);
    assert!(err.contains("addressed to \"FCA\""), "{err}");

    // An altered value is refused.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&received).unwrap()).unwrap();
    json["value"] = serde_json::json!(3_000);
    let altered = file("altered.json");
    std::fs::write(&altered, json.to_string()).unwrap();
    let (code, _, err) = verify(&altered, "FCA");
    assert_eq!(code, 1);
    assert!(err.contains("proof does not hold"), "{err}");

    // A's officer discloses the same note as its sender, with its owner.
    let sent = file("sent.json");
    let (code, _, err) = disclose("bank-a", s(&file("a.fvk")), "value,owner", s(&sent));
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = verify(&sent, "FCA");
    assert_eq!(code, 0, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["owner"], hex::encode(b.address().to_bytes()));
    assert_eq!(shown["asset"], serde_json::Value::Null);

    // The node's Compliance service checks a package for the party it names (the
    // caller), once.
    let for_auditor = file("auditor.json");
    let (code, _, err) = disclose_to("auditor-0", s(&file("b.fvk")), "value", s(&for_auditor));
    assert_eq!(code, 0, "{err}");
    let package = std::fs::read_to_string(&for_auditor).unwrap();
    let mut auditor = connect(&net.config(0), "auditor-0").await;
    let verdict = auditor.verify_disclosure(&package).await.unwrap();
    assert_eq!(verdict.value, Some(300));
    assert_eq!((verdict.asset, verdict.owner), (None, None));
    assert_eq!(verdict.tx, hex::decode(&tx).unwrap());
    match auditor.verify_disclosure(&package).await {
        Err(ClientError::Rpc(status)) => {
            assert_eq!(status.code(), tonic::Code::FailedPrecondition);
            assert!(status.message().contains("accepted before"), "{status}");
        }
        other => panic!("accepted twice: {other:?}"),
    }
    let mut bank_a = connect(&net.config(0), "bank-a").await;
    match bank_a.verify_disclosure(&package).await {
        Err(ClientError::Rpc(status)) => {
            assert_eq!(status.code(), tonic::Code::FailedPrecondition);
            assert!(status.message().contains("not to \"bank-a\""), "{status}");
        }
        other => panic!("accepted for another party: {other:?}"),
    }

    // Careless input.
    let stranger = SpendingKey::random(&mut rand::rng()).full_viewing_key();
    std::fs::write(file("stranger.fvk"), hex::encode(stranger.to_bytes())).unwrap();
    let (code, _, err) = disclose("bank-b", s(&file("stranger.fvk")), "value", s(&file("x")));
    assert_eq!(code, 1);
    assert!(
        err.contains("not a note this viewing key received or sent"),
        "{err}"
    );
    std::fs::write(file("short.fvk"), "abcd").unwrap();
    let (code, _, err) = disclose("bank-b", s(&file("short.fvk")), "value", s(&file("x")));
    assert_eq!(code, 1);
    assert!(err.contains("192 hex digits"), "{err}");
    let (code, _, err) = disclose("bank-b", s(&file("b.fvk")), "colour", s(&file("x")));
    assert_eq!(code, 2, "clap refuses an unknown field: {err}");
    let b_fvk = file("b.fvk");
    let (code, _, err) = disclose_at("bank-b", s(&b_fvk), (&tx, "99"), "value", s(&file("x")));
    assert_eq!(code, 1);
    assert!(err.contains("new notes)"), "{err}");
    let unknown = hex::encode([9u8; 32]);
    let (code, _, err) = disclose_at("bank-b", s(&b_fvk), (&unknown, "0"), "value", s(&file("x")));
    assert_eq!(code, 1);
    assert!(err.contains("is not final"), "{err}");
    let (code, _, err) = disclose_at("bank-b", s(&b_fvk), ("12", "0"), "value", s(&file("x")));
    assert_eq!(code, 1);
    assert!(err.contains("64 hex digits"), "{err}");
    std::fs::write(file("junk.json"), "{\"version\": 1}").unwrap();
    let (code, _, err) = verify(&file("junk.json"), "FCA");
    assert_eq!(code, 1);
    assert!(err.contains("malformed disclosure package"), "{err}");
    assert!(
        !file("x").exists(),
        "nothing written for a refused disclosure"
    );
    net.stop_all();
}
