//! `sable audit` as a regulator runs it, against a real 4-validator devnet: the scan
//! archives the chain and reports who holds what; a second scan resumes where the
//! first stopped; the report names the banks and assets, in every format; careless
//! or wrong input (no archive, a malformed or foreign key, an unknown participant,
//! HTML without a file) is refused with a message and exit status 1, changing nothing.
#![allow(clippy::unwrap_used)]

use sable_client::wallet::Wallet;
use sable_testkit::parties::{pay_from_wallet, TwoBanks};

mod common;
use common::{connection, devnet_with_two_banks, s, sable, usd_to_a};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_regulator_scans_resumes_and_reports_from_the_command_line() {
    let (mut net, parties) = devnet_with_two_banks().await;
    let (mut client_a, usd) = usd_to_a(&net, &parties).await;
    let TwoBanks {
        regulator: reg,
        a,
        b,
        ..
    } = parties;

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("audit.archive");
    let secret = net.regulator_secret();
    let scan = |extra: &[&str]| {
        let mut args: Vec<String> = ["audit", "scan"].map(String::from).to_vec();
        args.extend(connection(&net, "regulator-0"));
        args.extend(
            [
                "--regulator-key",
                s(&secret),
                "--archive",
                s(&archive),
                "--json",
            ]
            .into_iter()
            .chain(extra.iter().copied())
            .map(String::from),
        );
        sable(&args)
    };
    let report = |extra: &[&str]| {
        let mut args = vec![
            "audit",
            "report",
            "--regulator-key",
            s(&secret),
            "--archive",
            s(&archive),
        ];
        args.extend_from_slice(extra);
        sable(&args)
    };

    // A report before any scan is refused.
    let (code, _, err) = report(&[]);
    assert_eq!(code, 1);
    assert!(err.contains("run `sable audit scan` first"), "{err}");

    // The first scan: the issuance.
    let (code, out, err) = tokio::task::block_in_place(|| scan(&[]));
    assert_eq!(code, 0, "{err}");
    let first: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(first["resumed_from"], 0);
    let first_height = first["height"].as_u64().unwrap();
    assert!(first_height > 0);

    // A pays B 300; the second scan resumes after the first.
    let mut wallet = Wallet::new("Bank A", a.sk.clone());
    pay_from_wallet(&mut client_a, reg, &a, &mut wallet, usd, b.address(), 300).await;
    let (code, out, err) = tokio::task::block_in_place(|| scan(&[]));
    assert_eq!(code, 0, "{err}");
    let second: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(second["resumed_from"], first_height);
    assert!(second["height"].as_u64().unwrap() > first_height);
    assert_eq!(second["transactions"], 1);

    // The report, by name, in each format.
    let (code, out, err) = report(&["--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut positions: Vec<(String, String, u64)> = json["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["participant"].as_str().unwrap().to_string(),
                p["asset"].as_str().unwrap().to_string(),
                p["value"].as_u64().unwrap(),
            )
        })
        .collect();
    positions.sort();
    assert_eq!(
        positions,
        [
            ("Bank A".to_string(), "USD".to_string(), 700),
            ("Bank B".to_string(), "USD".to_string(), 300)
        ]
    );
    let (code, out, _) = report(&["--participant", "Bank B"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("participant Bank B") && out.contains("300"),
        "{out}"
    );
    let html = dir.path().join("report.html");
    assert_eq!(report(&["--format", "html", "--out", s(&html)]).0, 0);
    assert!(std::fs::read_to_string(&html).unwrap().contains("<svg"));
    let csv = dir.path().join("csv");
    assert_eq!(report(&["--format", "csv", "--out", s(&csv)]).0, 0);
    assert!(std::fs::read_to_string(csv.join("positions.csv"))
        .unwrap()
        .contains("Bank A,USD,700"));

    // Careless or wrong input: refused with a message, nothing changed.
    let archived = std::fs::read(&archive).unwrap();
    let (code, _, err) = report(&["--participant", "Bank Z"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no participant is labelled \"Bank Z\""),
        "{err}"
    );
    let (code, _, err) = report(&["--format", "html"]);
    assert_eq!(code, 1);
    assert!(err.contains("--out is needed"), "{err}");
    let malformed = dir.path().join("malformed.key");
    std::fs::write(&malformed, "not hex").unwrap();
    let (code, _, err) = sable(&[
        "audit",
        "report",
        "--regulator-key",
        s(&malformed),
        "--archive",
        s(&archive),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("64 hex digits"), "{err}");
    // Another regulator's key: the payment names a key it does not hold.
    let foreign = dir.path().join("foreign.key");
    let other = sable_circuits::keys::RegulatorSecretKey::random(&mut rand::rng());
    std::fs::write(&foreign, hex::encode(other.to_bytes())).unwrap();
    let (code, _, err) = sable(&[
        "audit",
        "report",
        "--regulator-key",
        s(&foreign),
        "--archive",
        s(&archive),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("which this audit does not hold"), "{err}");
    // Both keys (a keyring, as after a rotation): each transaction opens with its own.
    let (code, _, err) = sable(&[
        "audit",
        "report",
        "--regulator-key",
        s(&foreign),
        "--regulator-key",
        s(&secret),
        "--archive",
        s(&archive),
    ]);
    assert_eq!(code, 0, "{err}");
    // A damaged archive is named.
    let damaged = dir.path().join("damaged.archive");
    std::fs::write(&damaged, &archived[..archived.len() - 3]).unwrap();
    let (code, _, err) = sable(&[
        "audit",
        "report",
        "--regulator-key",
        s(&secret),
        "--archive",
        s(&damaged),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("damaged"), "{err}");
    assert_eq!(std::fs::read(&archive).unwrap(), archived);
    net.stop_all();
}
