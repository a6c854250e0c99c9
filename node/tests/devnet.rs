//! Four real validator processes on loopback: finality and agreement, a killed
//! validator catching up, and crashes injected between block-application steps.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use support::{assert_agree, Devnet};

const T: Duration = Duration::from_secs(90);

#[test]
fn four_validators_finalize_and_agree_and_a_killed_one_catches_up() {
    let mut net = Devnet::new(4);
    net.start_all();
    net.wait_height(0, 5, T);

    // Kill one under way: the other three (2f+1) keep finalizing.
    net.kill(3);
    let h = net.height(0).unwrap();
    net.wait_height(0, h + 5, T);
    net.wait_height(1, h + 5, T);
    assert!(net.height(3).is_none(), "killed validator still answers");

    // Restarted, it catches up from its peers.
    net.start(3);
    let target = net.height(0).unwrap() + 3;
    net.wait_height(3, target, T);

    net.stop_all();
    let all = assert_agree(&net);
    assert!(all.iter().all(|hs| hs.len() as u64 >= target - 3));
}

#[test]
fn a_crash_between_application_steps_never_leaves_half_a_block() {
    let mut net = Devnet::new(4);
    net.start_all();
    net.wait_height(3, 3, T);
    for step in [
        "admin",
        "transactions",
        "trees",
        "before-commit",
        "after-commit",
    ] {
        let at = net.height(3).unwrap() + 3;
        net.stop(3);
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
