//! Four real validator processes on loopback: finality and agreement, a killed
//! validator catching up, and crashes injected between block-application steps.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sable_node::gossip;
use sable_storage::ChainReader as _;
use sable_testkit::{
    assert_agree,
    http::{HttpStub, Reply},
    Devnet,
};

fn devnet(n: usize) -> Devnet {
    Devnet::new(env!("CARGO_BIN_EXE_sable-node"), n)
}

const T: Duration = Duration::from_secs(90);

/// The requests a [`Collector`] received: each one's path and body.
type Received = std::sync::Arc<parking_lot::Mutex<Vec<(String, Vec<u8>)>>>;

/// A stand-in OpenTelemetry collector on loopback: answers every HTTP request 200 and
/// keeps each one's path and body, until it is dropped.
struct Collector {
    stub: HttpStub,
    received: Received,
}

impl Collector {
    fn start() -> Self {
        let received: Received = Default::default();
        let got = received.clone();
        let stub = HttpStub::start(move |path, body| {
            got.lock().push((path.to_string(), body.to_vec()));
            Reply::ok("application/x-protobuf", vec![])
        });
        Collector { stub, received }
    }
}

/// A steady stream of shielded payments to validators 0–2; validator 3 is SIGKILLed in
/// the middle of it. Every payment still finalizes (the other three are 2f+1), the
/// restarted validator catches up from its peers, and every validator's state holds
/// every finalized payment at the height its client was told.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_load_a_killed_validator_stops_nothing_and_catches_up() {
    use sable_client::wallet;
    use sable_primitives::TxStatus;
    use sable_testkit::parties::{connect, header, pay, two_banks, TwoBanks, FINAL};

    const PAYMENTS: usize = 8;
    let mut net = devnet(4);
    net.start_all();
    net.wait_height(0, 2, T);
    let cfg0 = net.config(0);
    let TwoBanks {
        regulator: reg,
        a,
        b,
        issuer,
    } = two_banks(&cfg0).await;
    let mut clients = Vec::new();
    for i in 0..3 {
        clients.push(connect(&net.config(i), "bank-a").await);
    }
    let (_, _, base) = clients[0].anchor().await.unwrap();
    let h = header(&mut clients[0]).await;
    let (issuance, notes) = issuer.issue(h, "USD", a.address(), &[10; PAYMENTS]);
    wallet::settle(&mut clients[0], &issuance).await.unwrap();
    let mut payments = Vec::new();
    for (i, note) in notes.iter().enumerate() {
        payments.push(
            pay(
                &mut clients[0],
                reg,
                &a,
                *note,
                base + i as u64,
                b.address(),
                10,
            )
            .await,
        );
    }

    const UNSENT: &str = "sable_gossip_unsent_total";
    let mut unsent_before_kill = None;
    let mut pending = Vec::new();
    for (i, tx) in payments.iter().enumerate() {
        if i == PAYMENTS / 2 {
            unsent_before_kill = net.metric(0, UNSENT);
            net.kill(3);
        }
        let c = &mut clients[i % 3];
        let (id, s) = c.submit(tx).await.unwrap();
        assert_eq!(s, TxStatus::Pending, "payment {i}");
        pending.push((i % 3, id));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let mut finalized = Vec::new();
    for (c, id) in pending {
        match clients[c].wait_final(&id, FINAL).await.unwrap() {
            TxStatus::Finalized { height, .. } => finalized.push((id, height)),
            s => panic!("payment {id} did not finalize with a validator down: {s:?}"),
        }
    }
    assert!(net.height(3).is_none(), "killed validator still answers");
    // What validator 0 gossiped since (a payment, heartbeats) did not reach the killed
    // validator, and its metrics say so.
    let (before, after) = (unsent_before_kill.unwrap(), net.metric(0, UNSENT).unwrap());
    assert!(
        after > before,
        "gossip to the killed validator counted as sent: {before} → {after}"
    );

    // Restarted, it catches up from its peers.
    net.start(3);
    let target = net.height(0).unwrap();
    net.wait_height(3, target, T);
    net.stop_all();
    assert_agree(&net);
    for i in 0..4 {
        let store = net.store(i);
        for (id, height) in &finalized {
            let loc = store.tx_location(id).unwrap();
            assert!(
                matches!(&loc, Some(l) if l.height == *height && l.rejection_code.is_none()),
                "validator {i} lost payment {id} finalized at {height}: {loc:?}"
            );
        }
    }
}

/// The operator revokes validator 3's certificate: the other validators drop it from
/// their p2p peer set and keep finalizing as three (2f+1); validator 3, refused by all,
/// stops advancing and hears from no one. A bank revoked by the same commands loses the
/// block stream it held open.
///
/// The validators also export spans over OTLP: validators 0 and 1 to a collector, which
/// receives their spans (review, requirement 15), validators 2 and 3 to an endpoint
/// where no collector listens, where export failures cost nothing but dropped spans.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_validator_is_cut_off_from_consensus() {
    use sable_pki::{fingerprint, load_certificate_pem};
    use sable_primitives::admin::AdminOp;
    use sable_proto::v1::{self as pb, chain_client::ChainClient};
    use sable_testkit::parties::{connect, operator};

    let mut net = devnet(4);
    let absent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/v1/traces", absent.local_addr().unwrap());
    drop(absent);
    let collector = Collector::start();
    for i in 0..4 {
        let mut cfg = net.config(i);
        cfg.telemetry.otlp_endpoint = Some(if i < 2 {
            format!("{}/v1/traces", collector.stub.url())
        } else {
            endpoint.clone()
        });
        cfg.save(&net.configs[i]).unwrap();
    }
    net.start_all();
    net.wait_height(0, 2, T);
    let peers = |i: usize| net.metric(i, "sable_connected_peers");
    net.wait_until(T, "validator 0 hears all three peers", || {
        peers(0) == Some(3.0)
    });

    let cfg0 = net.config(0);
    let der = load_certificate_pem(&net.config(3).tls.cert).unwrap();
    // Bank B holds a block stream open at validator 1; the same operator commands
    // revoke its certificate too.
    let pki = cfg0.tls.ca.parent().unwrap();
    let bank_b = sable_client::connect(
        &net.config(1).network.rpc.to_string(),
        &cfg0.tls.ca,
        &pki.join("bank-b.pem"),
        &pki.join("bank-b.key"),
    )
    .await
    .unwrap();
    let mut stream = ChainClient::new(bank_b)
        .stream_blocks(pb::StreamRequest { from_height: 0 })
        .await
        .unwrap()
        .into_inner();
    assert!(stream.message().await.unwrap().is_some());
    let bank_der = load_certificate_pem(&pki.join("bank-b.pem")).unwrap();
    let mut op = connect(&cfg0, "operator-0").await;
    operator(
        &cfg0,
        &mut op,
        vec![
            AdminOp::RevokeCertificate {
                fingerprint: fingerprint(&der),
                reason: "key compromise".into(),
            },
            AdminOp::RevokeCertificate {
                fingerprint: fingerprint(&bank_der),
                reason: "sanctioned".into(),
            },
        ],
    )
    .await;
    // Its stream ends with the block that revoked it, through the devnet's real API.
    let end = tokio::time::timeout(T, async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        }
    })
    .await
    .expect("the revoked bank's stream ends");
    let e = end.expect("with an error, not a clean end");
    assert_eq!(
        (e.code(), e.message()),
        (tonic::Code::PermissionDenied, "certificate revoked")
    );

    net.wait_until(T, "validator 0 drops the revoked peer", || {
        peers(0) == Some(2.0)
    });
    net.wait_until(T, "the revoked validator hears no one", || {
        peers(3) == Some(0.0)
    });
    // Validator 0 no longer counts its gossip (a heartbeat a second) to the revoked
    // peer as unsent.
    let unsent = |i: usize| net.metric(i, "sable_gossip_unsent_total");
    let unsent0 = unsent(0).expect("validator 0 serves its metrics");
    let h3 = net.height(3).unwrap();
    let h0 = net.height(0).unwrap();
    net.wait_height(0, h0 + 5, T);
    net.wait_height(1, h0 + 5, T);
    std::thread::sleep(gossip::HEARTBEAT * 3);
    assert_eq!(
        unsent(0),
        Some(unsent0),
        "gossip to the revoked validator was counted as unsent"
    );
    assert!(
        net.height(3).unwrap() <= h3 + 1,
        "the revoked validator kept finalizing: {h3} → {:?}",
        net.height(3)
    );
    net.stop_all();
    assert_agree(&net);
    // The collector holds spans of both validators that export to it (the batch
    // exporter sends every few seconds, and flushes at shutdown).
    let received = collector.received.lock().clone();
    for v in ["sable-node/validator-0", "sable-node/validator-1"] {
        assert!(
            received.iter().any(|(path, body)| path == "/v1/traces"
                && body.windows(v.len()).any(|w| w == v.as_bytes())
                && body.windows(8).any(|w| w == b"finalize")),
            "no finalize span of {v} reached the collector ({} requests)",
            received.len()
        );
    }
}

#[test]
fn a_validator_that_cannot_execute_halts_exits_non_zero_and_catches_up_later() {
    let mut net = devnet(4);
    net.start_all();
    net.wait_height(3, 3, T);
    net.stop(3);
    let at = net.store(3).height().unwrap() + 3;
    // Applying block `at` fails (as a full disk would make it) and changes nothing.
    net.start_with(
        3,
        &[("SABLE_FAILPOINT", &format!("{at}:before-commit:error"))],
    );
    let status = net
        .wait_exit_status(3, T)
        .unwrap_or_else(|| panic!("validator 3 kept running:\n{}", net.log_tail(3)));
    assert!(!status.success(), "a halted validator exits non-zero");
    let log = net.log_lines(3, &["halting"], 5);
    assert!(
        log.contains(&format!("cannot apply finalized block {at}")),
        "the reason is logged:\n{}",
        net.log_tail(3)
    );
    {
        let store = net.store(3);
        store.check_invariants().unwrap();
        assert_eq!(
            store.height().unwrap(),
            at - 1,
            "nothing of block {at} was written"
        );
    }
    // The others go on without it; restarted, it applies the block it could not.
    net.wait_height(0, at + 2, T);
    net.start(3);
    net.wait_height(3, at + 2, T);
    net.stop_all();
    assert_agree(&net);
}

/// A validator whose execution diverges halts, naming it, while the others go on; from
/// an empty data directory it syncs back and agrees.
#[test]
fn a_validator_whose_execution_diverges_halts_loudly_and_the_others_go_on() {
    let mut net = devnet(4);
    net.start_all();
    net.wait_height(3, 3, T);
    net.stop(3);
    let at = net.store(3).height().unwrap() + 2;
    // Validator 3 reaches another state root at block `at` (a bug, a corrupted disk).
    net.start_with(3, &[("SABLE_FAILPOINT", &format!("{at}:trees:diverge"))]);
    let status = net
        .wait_exit_status(3, T)
        .unwrap_or_else(|| panic!("validator 3 kept running:\n{}", net.log_tail(3)));
    assert!(!status.success(), "a diverged validator exits non-zero");
    let log = net.log_lines(3, &["halting"], 5);
    assert!(
        log.contains("state diverged"),
        "the divergence is named:\n{}",
        net.log_tail(3)
    );
    // The honest three never took its state: they go on and agree.
    net.wait_height(0, at + 3, T);
    // Its way back: an empty data directory. It syncs every finalized block from its
    // peers, re-executes them and reaches the others' state.
    std::fs::remove_dir_all(&net.config(3).node.data_dir).unwrap();
    net.start(3);
    net.wait_height(3, at + 3, T);
    net.stop_all();
    for i in 1..4 {
        assert_eq!(
            net.store(i).header(at + 3).unwrap().unwrap(),
            net.store(0).header(at + 3).unwrap().unwrap(),
            "validator {i} at {}",
            at + 3
        );
    }
}

#[test]
fn a_crash_between_application_steps_never_leaves_half_a_block() {
    let mut net = devnet(4);
    net.start_all();
    net.wait_height(3, 3, T);
    for step in [
        "admin",
        "transactions",
        "trees",
        "before-commit",
        "after-commit",
    ] {
        // The target comes from the stopped validator's own state: it may apply a few
        // more blocks between a metrics read and its shutdown.
        net.stop(3);
        let at = net.store(3).height().unwrap() + 3;
        net.start_with(3, &[("SABLE_FAILPOINT", &format!("{at}:{step}"))]);
        assert!(
            net.wait_exit(3, T),
            "failpoint {at}:{step} was not reached:\n{}",
            net.log_tail(3)
        );
        {
            let store = net.store(3);
            store.check_invariants().unwrap();
            let tip = store.height().unwrap();
            let expected = if step == "after-commit" { at } else { at - 1 };
            assert_eq!(tip, expected, "after a crash at {step} of block {at}");
        }
        net.start(3);
        net.wait_height(3, at + 1, T);
    }
    net.stop_all();
    assert_agree(&net);
}

/// A validator that restarts gets what its peers have pending. Validators 0 and 1 run
/// alone (two of four: nothing finalizes, so what is submitted stays pending); an
/// operator command submitted to 0 is pending at both, through gossip. Validator 1
/// restarts with an empty pool, asks 0 for its pool when it hears it again, and has the
/// command pending once more (before, it met such commands first in a proposal).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_validator_gets_what_its_peers_have_pending() {
    use sable_client::NodeClient;
    use sable_node::config::NodeConfig;
    use sable_primitives::admin::{AdminCommand, AdminOp};
    use sable_primitives::block::TxId;
    use sable_primitives::TxStatus;
    use sable_testkit::parties::connect;

    /// Waits until the command `id` is pending at the validator of `cfg` (connecting
    /// anew each time, as it may be starting).
    async fn wait_pending(cfg: &NodeConfig, id: &TxId, at: &str) {
        let pki = cfg.tls.ca.parent().unwrap();
        let status = || async {
            let channel = sable_client::connect(
                &cfg.network.rpc.to_string(),
                &cfg.tls.ca,
                &pki.join("operator-0.pem"),
                &pki.join("operator-0.key"),
            )
            .await
            .ok()?;
            NodeClient::new(channel).admin_status(id).await.ok()
        };
        let deadline = tokio::time::Instant::now() + T;
        while status().await != Some(TxStatus::Pending) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the command never became pending at {at}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    let mut net = devnet(4);
    net.start(0);
    net.start(1);
    let peers = |net: &Devnet, i: usize| net.metric(i, "sable_connected_peers");
    net.wait_until(T, "validators 0 and 1 hear each other", || {
        peers(&net, 0) == Some(1.0) && peers(&net, 1) == Some(1.0)
    });
    let (cfg0, cfg1) = (net.config(0), net.config(1));
    let cmd = sable_client::wallet::approved(
        &AdminCommand {
            nonce: 7,
            op: AdminOp::RevokeCertificate {
                fingerprint: [7; 32],
                reason: "test".into(),
            },
        },
        &sable_circuits::transaction::ChainId::from_namespace(&cfg0.chain.namespace),
        &sable_testkit::parties::governing_operators(&cfg0).unwrap(),
    )
    .unwrap();
    let (id, status) = connect(&cfg0, "operator-0")
        .await
        .admin(&cmd)
        .await
        .unwrap();
    assert_eq!(status, TxStatus::Pending);
    wait_pending(&cfg1, &id, "validator 1").await;

    let sent = |net: &Devnet| net.metric(0, "sable_gossip_pool_sent_total");
    let sent0 = sent(&net).expect("validator 0 serves its metrics");
    net.stop(1);
    net.start(1);
    net.wait_until(T, "validator 1 serves its metrics again", || {
        peers(&net, 1).is_some()
    });
    wait_pending(&cfg1, &id, "restarted validator 1").await;
    assert!(
        sent(&net).unwrap() > sent0,
        "validator 0 did not count its pool as sent"
    );
    net.stop_all();
}

/// A validator whose gRPC, p2p or metrics port is taken stops at start with an error
/// that names the port, rather than running with a part missing (an operator's
/// dashboards would show a validator without metrics as down, or not at all).
#[test]
fn a_validator_whose_port_is_taken_stops_at_start_and_names_it() {
    let mut net = devnet(4);
    let cfg = net.config(0);
    for (what, addr) in [
        ("metrics", cfg.network.metrics),
        ("gRPC", cfg.network.rpc),
        ("p2p", cfg.network.p2p),
    ] {
        let held = std::net::TcpListener::bind(addr).unwrap();
        net.start(0);
        assert!(
            net.wait_exit(0, T),
            "validator 0 kept running with its {what} port {addr} taken:\n{}",
            net.log_tail(0)
        );
        assert!(
            net.log_tail(0).contains(&addr.to_string()),
            "the error does not name the {what} port {addr}:\n{}",
            net.log_tail(0)
        );
        drop(held);
    }
}

/// Operator registers the banks and the issuer; the issuer issues to bank A; bank A
/// spends the same note twice at two different validators at once: exactly one spend
/// finalizes, the other is rejected, and every validator ends in the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shielded_transactions_finalize_and_a_double_spend_finalizes_once() {
    use sable_client::wallet::Wallet;
    use sable_primitives::{RejectCode, TxStatus};
    use sable_testkit::parties::{connect, header, pay, two_banks, TwoBanks, FINAL};

    let mut net = devnet(4);
    net.start_all();
    net.wait_height(0, 2, T);
    let cfg0 = net.config(0);
    let TwoBanks {
        regulator: reg,
        a,
        b,
        issuer,
    } = two_banks(&cfg0).await;

    // Issuance through validator 1, once it has applied the onboarding that validator 0
    // reported final (until then it rightly refuses the issuer as unknown).
    let mut a1 = connect(&net.config(1), "bank-a").await;
    let onboarded = connect(&cfg0, "bank-a").await.height().await.unwrap();
    let deadline = std::time::Instant::now() + T;
    while a1.height().await.unwrap() < onboarded {
        assert!(
            std::time::Instant::now() < deadline,
            "validator 1 never applied the onboarding"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, _, size_before) = a1.anchor().await.unwrap();
    let h = header(&mut a1).await;
    let (issuance, notes) = issuer.issue(h, "USD", a.address(), &[1_000, 2_000]);
    let (id, s) = a1.submit(&issuance).await.unwrap();
    assert_eq!(s, TxStatus::Pending);
    assert!(matches!(
        a1.wait_final(&id, FINAL).await.unwrap(),
        TxStatus::Finalized { .. }
    ));

    // Two spends of the same note, built against the same state, sent to two validators.
    let mut a0 = connect(&cfg0, "bank-a").await;
    let mut a2 = connect(&net.config(2), "bank-a").await;
    let spend1 = pay(&mut a0, reg, &a, notes[0], size_before, b.address(), 400).await;
    let spend2 = pay(&mut a2, reg, &a, notes[0], size_before, b.address(), 900).await;
    let ((id1, s1), (id2, s2)) = tokio::join!(async { a0.submit(&spend1).await.unwrap() }, async {
        a2.submit(&spend2).await.unwrap()
    });
    // Validators gossip what they admit, so the spend that reaches a validator second
    // may already be refused there: its pool holds the other spend of the note.
    for s in [&s1, &s2] {
        assert!(
            matches!(
                s,
                TxStatus::Pending
                    | TxStatus::Rejected {
                        code: RejectCode::DuplicateNullifier,
                        ..
                    }
            ),
            "admission: {s:?}"
        );
    }
    assert!(
        s1 == TxStatus::Pending || s2 == TxStatus::Pending,
        "one spend is admitted: {s1:?} {s2:?}"
    );
    let f1 = match s1 {
        TxStatus::Pending => a0.wait_final(&id1, FINAL).await.unwrap(),
        refused => refused,
    };
    let f2 = match s2 {
        TxStatus::Pending => a2.wait_final(&id2, FINAL).await.unwrap(),
        refused => refused,
    };
    let finalized = [&f1, &f2]
        .iter()
        .filter(|s| matches!(s, TxStatus::Finalized { .. }))
        .count();
    assert_eq!(finalized, 1, "exactly one spend finalizes: {f1:?} {f2:?}");
    let rejected = if matches!(f1, TxStatus::Finalized { .. }) {
        &f2
    } else {
        &f1
    };
    assert!(
        matches!(
            rejected,
            TxStatus::Rejected {
                code: RejectCode::SpentNullifier | RejectCode::DuplicateNullifier,
                ..
            }
        ),
        "the other is rejected as spent (or, at admission, as spending a pending \
         transaction's note): {rejected:?}"
    );

    // A third attempt at admission is refused at once (the nullifier is spent).
    let (_, s3) = a0.submit(&spend1).await.unwrap();
    assert!(
        matches!(s3, TxStatus::Rejected { .. }),
        "resubmission: {s3:?}"
    );

    // A payment whose proof was tampered with after signing passes the cheap admission
    // checks, then fails batch verification before any block carries it (the
    // signatures cover the proof): it leaves the pools, rejected.
    let mut forged = pay(&mut a0, reg, &a, notes[1], size_before + 1, b.address(), 5).await;
    let mut proof = forged.parts[0].proof.as_bytes().to_vec();
    proof[100] ^= 1;
    forged.parts[0].proof = sable_circuits::circuit::Proof::from_bytes(proof);
    let (idf, sf) = a0.submit(&forged).await.unwrap();
    assert_eq!(sf, TxStatus::Pending);
    let ff = a0.wait_final(&idf, FINAL).await.unwrap();
    assert!(
        matches!(
            ff,
            TxStatus::Rejected {
                code: RejectCode::InvalidSignature,
                ..
            }
        ),
        "a tampered proof breaks the signatures over it: {ff:?}"
    );

    // The second issued note is still spendable. Before the valid spend of it, hostile
    // variants of that spend go through the real API, each refused at admission with
    // its reason (review: through the real gRPC API against a real devnet).
    let spend = pay(
        &mut a0,
        reg,
        &a,
        notes[1],
        size_before + 1,
        b.address(),
        2_000,
    )
    .await;
    let refused = |status: TxStatus, code: RejectCode, what: &str| {
        assert!(
            matches!(&status, TxStatus::Rejected { code: c, .. } if *c == code),
            "{what}: {status:?}"
        );
    };
    let bytes = spend.to_bytes();
    // An all-zero (identity) rk, whose spend signatures anyone could forge (F1).
    let rk: [u8; 32] = spend.parts[0].effects.actions[0].rk.into();
    let at = bytes.windows(32).position(|w| w == rk).unwrap();
    let mut identity = bytes.clone();
    identity[at..at + 32].fill(0);
    let (_, st) = a0.submit_bytes(identity).await.unwrap();
    refused(st, RejectCode::Malformed, "identity rk");
    // A copy with a byte added inside its proof, under a new id (F3).
    let mut malleated = spend.clone();
    let mut proof = malleated.parts[0].proof.as_bytes().to_vec();
    proof.push(0);
    malleated.parts[0].proof = sable_circuits::circuit::Proof::from_bytes(proof);
    let (mid, st) = a0.submit(&malleated).await.unwrap();
    assert_ne!(mid, sable_primitives::block::TxId::of(&bytes));
    refused(st, RejectCode::Malformed, "id-malleated copy");
    // Expired, and signed for another network (F5, F9c).
    let mut expired = spend.clone();
    expired.header.expiry_height = net.height(0).unwrap().saturating_sub(1);
    let (_, st) = a0.submit(&expired).await.unwrap();
    refused(st, RejectCode::Expired, "expired");
    let mut elsewhere = spend.clone();
    elsewhere.header.chain = sable_circuits::transaction::ChainId::from_namespace("sable-other");
    let (_, st) = a0.submit(&elsewhere).await.unwrap();
    refused(st, RejectCode::WrongChain, "another network");
    // The genuine spend, right after.
    let (id, _) = a0.submit(&spend).await.unwrap();
    assert!(matches!(
        a0.wait_final(&id, FINAL).await.unwrap(),
        TxStatus::Finalized { .. }
    ));

    // The banks' wallets, scanning the chain with their viewing keys, find exactly the
    // applied payments (not the rejected double spend or the forged one).
    let usd = issuer.0.asset("USD");
    let paid = if matches!(f1, TxStatus::Finalized { .. }) {
        400
    } else {
        900
    };
    let mut wallet_a = Wallet::new("Bank A", a.sk.clone());
    let mut wallet_b = Wallet::new("Bank B", b.sk.clone());
    wallet_a.sync(&mut a0).await.unwrap();
    wallet_b.sync(&mut a0).await.unwrap();
    assert_eq!(
        wallet_a.balance(usd),
        1_000 - paid,
        "Bank A keeps the change"
    );
    assert_eq!(
        wallet_b.balance(usd),
        paid + 2_000,
        "Bank B received both payments"
    );
    wallet_b.sync(&mut a0).await.unwrap();
    assert_eq!(
        wallet_b.balance(usd),
        paid + 2_000,
        "a second sync adds nothing"
    );

    let h = net.height(0).unwrap();
    for i in 1..4 {
        net.wait_height(i, h, T);
    }
    net.stop_all();
    let all = assert_agree(&net);
    let last = all[0].last().unwrap();
    assert_eq!(
        last.tree_size,
        size_before + 2 + 2 + 2,
        "two issued notes, two 2-action spends"
    );
}
