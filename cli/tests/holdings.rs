//! `sable prove-holdings` and `sable verify-holdings` as a compliance officer and a
//! counterparty run them, against a real 4-validator devnet: Bank A is issued 1,000
//! USD and pays Bank B 300. A's officer, with the full viewing key alone, proves A held
//! at least 1,000 USD at the issuance's height, and at least 700 at the tip but not 701
//! (the 1,000 note is spent by then); the counterparty, as "CCP", checks each against
//! its node's header and accepts it once. The same note pledged again for the same
//! purpose and height, a package for someone else, an altered package and careless
//! input are refused with a message and exit status 1. The node's `Compliance`
//! service checks a package for the party it names (the caller) and accepts it once;
//! another party, an operator and a malformed package are refused.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use sable_client::{node_client::ClientError, wallet::Wallet};
use sable_testkit::parties::{connect, pay_from_wallet, TwoBanks};

mod common;
use common::{connection, devnet_with_two_banks, s, sable, usd_to_a};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_officer_proves_holdings_and_a_counterparty_verifies_them_once() {
    let (mut net, parties) = devnet_with_two_banks().await;
    let (mut client_a, usd) = usd_to_a(&net, &parties).await;
    let issued_at = client_a.height().await.unwrap();
    let TwoBanks {
        regulator: reg,
        a,
        b,
        ..
    } = parties;
    let mut wallet = Wallet::new("Bank A", a.sk.clone());
    pay_from_wallet(&mut client_a, reg, &a, &mut wallet, usd, b.address(), 300).await;
    let tip = client_a.height().await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    std::fs::write(
        file("a.fvk"),
        hex::encode(a.sk.full_viewing_key().to_bytes()),
    )
    .unwrap();
    let prove_to = |to: &str, extra: &[&str], out: &Path| {
        let mut args = vec!["prove-holdings".to_owned()];
        args.extend(connection(&net, "bank-a"));
        args.extend(
            [
                "--viewing-key",
                s(&file("a.fvk")),
                "--to",
                to,
                "--out",
                s(out),
                "--json",
            ]
            .into_iter()
            .chain(extra.iter().copied())
            .map(String::from),
        );
        tokio::task::block_in_place(|| sable(&args))
    };
    let prove = |extra: &[&str], out: &Path| prove_to("CCP", extra, out);
    let record = file("ccp.seen");
    let verify = |package: &Path, name: &str| {
        let mut args = vec!["verify-holdings".to_owned()];
        args.extend(connection(&net, "auditor-0"));
        args.extend(["--as", name, "--record", s(&record), "--json", s(package)].map(String::from));
        tokio::task::block_in_place(|| sable(&args))
    };
    let issued_height = issued_at.to_string();
    let tip_height = tip.to_string();
    let usd_hex = hex::encode(usd.0);

    // At the issuance's height A held the 1,000 note: proven by the asset's name.
    let then = file("then.json");
    let (code, out, err) = prove(
        &[
            "--asset",
            "USD",
            "--at-least",
            "1000",
            "--height",
            &issued_height,
            "--purpose",
            "margin",
        ],
        &then,
    );
    assert_eq!(code, 0, "{err}");
    let made: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(made["notes"], 1);
    let (code, out, err) = verify(&then, "CCP");
    assert_eq!(code, 0, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["owner"], hex::encode(a.address().to_bytes()));
    assert_eq!(shown["asset"], usd_hex);
    assert_eq!(shown["at_least"], 1000);
    assert_eq!(shown["height"], issued_at);
    // Once only, and to its audience only.
    let (code, _, err) = verify(&then, "CCP");
    assert_eq!(code, 1);
    assert!(err.contains("accepted before"), "{err}");
    let (code, _, err) = verify(&then, "FCA");
    assert_eq!(code, 1);
    assert!(err.contains("addressed to \"CCP\""), "{err}");

    // At the tip the 1,000 note is spent: its 700 change is all A holds.
    let now = file("now.json");
    let (code, _, err) = prove(
        &[
            "--asset",
            &usd_hex,
            "--at-least",
            "701",
            "--purpose",
            "margin",
        ],
        &now,
    );
    assert_eq!(code, 1);
    assert!(err.contains("hold 700, below the threshold 701"), "{err}");
    assert!(!now.exists(), "nothing written for a refused proof");
    let (code, _, err) = prove(
        &[
            "--asset",
            &usd_hex,
            "--at-least",
            "700",
            "--purpose",
            "margin",
            "--height",
            &tip_height,
        ],
        &now,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = verify(&now, "CCP");
    assert_eq!(code, 0, "{err}");

    // The 1,000 note pledged again for the same purpose at the same height shows.
    let again = file("again.json");
    let (code, _, err) = prove(
        &[
            "--asset",
            "USD",
            "--at-least",
            "500",
            "--height",
            &issued_height,
            "--purpose",
            "margin",
        ],
        &again,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = verify(&again, "CCP");
    assert_eq!(code, 1);
    assert!(
        err.contains("pledged before for the same statement"),
        "{err}"
    );

    // An altered threshold.
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&now).unwrap()).unwrap();
    json["threshold"] = serde_json::json!(7_000);
    let altered = file("altered.json");
    std::fs::write(&altered, json.to_string()).unwrap();
    let (code, _, err) = verify(&altered, "CCP");
    assert_eq!(code, 1);
    assert!(err.contains("proof does not hold"), "{err}");

    // Careless input.
    let x = file("x");
    let (code, _, err) = prove(&["--asset", "EUR", "--at-least", "1", "--purpose", "m"], &x);
    assert_eq!(code, 1);
    assert!(err.contains("no asset was issued as \"EUR\""), "{err}");
    let (code, _, err) = prove(
        &[
            "--asset",
            "USD",
            "--at-least",
            "1",
            "--purpose",
            "m",
            "--height",
            "999999",
        ],
        &x,
    );
    assert_eq!(code, 1);
    assert!(err.contains("to the node's tip"), "{err}");
    let (code, _, err) = prove(&["--asset", "USD", "--at-least", "0", "--purpose", "m"], &x);
    assert_eq!(code, 1);
    assert!(err.contains("threshold of 0"), "{err}");
    std::fs::write(file("junk.json"), "{\"version\": 1}").unwrap();
    let (code, _, err) = verify(&file("junk.json"), "CCP");
    assert_eq!(code, 1);
    assert!(err.contains("malformed holdings package"), "{err}");
    assert!(!x.exists(), "nothing written for a refused proof");

    // The node's Compliance service checks a package for the party it names, which
    // must be the caller (its certificate's participant id), and accepts it once.
    let for_auditor = file("auditor.json");
    let (code, _, err) = prove_to(
        "auditor-0",
        &["--asset", "USD", "--at-least", "700", "--purpose", "audit"],
        &for_auditor,
    );
    assert_eq!(code, 0, "{err}");
    let package = std::fs::read_to_string(&for_auditor).unwrap();
    let mut auditor = connect(&net.config(0), "auditor-0").await;
    let verdict = auditor.verify_holdings(&package).await.unwrap();
    assert_eq!(verdict.owner, a.address().to_bytes());
    assert_eq!(verdict.asset, usd.0);
    assert_eq!((verdict.at_least, verdict.notes), (700, 1));
    assert_eq!(verdict.purpose, "audit");
    let refusal = |r: Result<_, ClientError>| match r {
        Err(ClientError::Rpc(status)) => (status.code(), status.message().to_owned()),
        other => panic!("expected a refusal, got {other:?}"),
    };
    let (code, message) = refusal(auditor.verify_holdings(&package).await);
    assert_eq!(code, tonic::Code::FailedPrecondition);
    assert!(message.contains("accepted before"), "{message}");
    let mut bank_b = connect(&net.config(0), "bank-b").await;
    let (code, message) = refusal(bank_b.verify_holdings(&package).await);
    assert_eq!(code, tonic::Code::FailedPrecondition);
    assert!(message.contains("addressed to \"auditor-0\""), "{message}");
    let (code, message) = refusal(auditor.verify_holdings("{\"version\": 1}").await);
    assert_eq!(code, tonic::Code::InvalidArgument);
    assert!(message.contains("malformed holdings package"), "{message}");
    let mut operator = connect(&net.config(0), "operator-0").await;
    let (code, _) = refusal(operator.verify_holdings(&package).await);
    assert_eq!(code, tonic::Code::PermissionDenied);
    net.stop_all();
}
