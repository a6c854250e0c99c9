//! `sable keys epoch` and `sable keys check-epoch` as a compliance officer and an
//! auditor run them, against a real 4-validator devnet where Bank A and Bank B are
//! registered: A's officer, with A's full viewing key alone, writes the key to epochs
//! 4 to 11 of A's activity; the auditor checks it against the schedule A's registration
//! carries, through its node. B's key passed off as A's, the key of a participant the
//! chain never registered, and careless input are refused with a message and exit
//! status 1.
#![allow(clippy::unwrap_used)]

use sable_circuits::keys::SpendingKey;
use sable_compliance::epoch_key::IssuedEpochKey;

mod common;
use common::{connection, devnet_with_two_banks, s, sable};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_officer_issues_an_epoch_key_and_an_auditor_checks_it_against_the_registry() {
    let (net, parties) = devnet_with_two_banks().await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str| dir.path().join(name);
    let write_fvk = |name: &str, sk: &SpendingKey| {
        std::fs::write(file(name), hex::encode(sk.full_viewing_key().to_bytes())).unwrap();
    };
    write_fvk("a.fvk", &parties.a.sk);
    write_fvk("b.fvk", &parties.b.sk);
    let outsider = SpendingKey::random(&mut rand::rng());
    write_fvk("outsider.fvk", &outsider);
    let issue = |fvk: &str, from: &str, to: &str, out: &str| {
        sable(&[
            "keys",
            "epoch",
            "--viewing-key",
            s(&file(fvk)),
            "--from",
            from,
            "--to",
            to,
            "--out",
            s(&file(out)),
        ])
    };
    let check = |key: &str| {
        let mut args = vec!["keys".to_owned(), "check-epoch".to_owned()];
        args.extend(connection(&net, "auditor-0"));
        args.extend(["--json".to_owned(), s(&file(key)).to_owned()]);
        tokio::task::block_in_place(|| sable(&args))
    };
    let a_hex = hex::encode(parties.a.address().to_bytes());

    // A's officer writes epochs 4..=11; the auditor's node confirms them.
    let (code, _, err) = issue("a.fvk", "4", "11", "a.json");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("epochs 4..=11") && err.contains("2 node secrets"),
        "{err}"
    );
    let (code, out, err) = check("a.json");
    assert_eq!(code, 0, "{err}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["participant"], a_hex.as_str());
    assert_eq!(
        (shown["first_epoch"].as_u64(), shown["last_epoch"].as_u64()),
        (Some(4), Some(11))
    );

    // B's key passed off as A's: the file names A, the secrets are B's.
    let (code, _, err) = issue("b.fvk", "4", "11", "b.json");
    assert_eq!(code, 0, "{err}");
    let mut forged =
        IssuedEpochKey::from_json(&std::fs::read_to_string(file("b.json")).unwrap()).unwrap();
    forged.participant = parties.a.address();
    std::fs::write(file("forged.json"), forged.to_json()).unwrap();
    let (code, out, err) = check("forged.json");
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("does not open what it says") && err.contains("epoch 4"),
        "{err}"
    );

    // A participant the chain never registered.
    let (code, _, err) = issue("outsider.fvk", "0", "63", "outsider.json");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = check("outsider.json");
    assert_eq!(code, 1);
    assert!(
        err.contains("the registration of") && err.contains("not registered"),
        "{err}"
    );

    // Careless input: nothing written, a message, exit status 1.
    for (from, to, says) in [("9", "3", "empty epoch range"), ("0", "64", "out of range")] {
        let (code, _, err) = issue("a.fvk", from, to, "careless.json");
        assert_eq!(code, 1);
        assert!(err.contains(says), "{err}");
        assert!(!file("careless.json").exists());
    }
    std::fs::write(file("junk.fvk"), "00").unwrap();
    let (code, _, err) = issue("junk.fvk", "0", "1", "careless.json");
    assert_eq!(code, 1);
    assert!(err.contains("full viewing key"), "{err}");
    std::fs::write(file("junk.json"), "{\"version\": 1}").unwrap();
    let (code, _, err) = check("junk.json");
    assert_eq!(code, 1);
    assert!(err.contains("malformed epoch key file"), "{err}");
}
