//! A leader that misbehaves on purpose, for tests under faults. Compiled only with the
//! `byzantine` feature, which the validator's own build never enables (a layout test
//! checks): the test kit's simulation turns it on to run Byzantine leaders among honest
//! validators.

use std::time::Duration;

use sable_primitives::block::Block;

/// Ways a leader tampers with each block it proposes, after building it honestly.
#[derive(Clone, Debug, Default)]
pub struct Byzantine {
    /// Added to every proposal's timestamp.
    pub clock_ahead: Duration,
    /// Transactions put in every proposal as they are, unchecked (junk proofs, say).
    pub stuffing: Vec<Vec<u8>>,
    /// Operator commands put in every proposal as they are (forged copies, say).
    pub admin_stuffing: Vec<Vec<u8>>,
    /// Claims a state root its execution did not reach.
    pub wrong_state: bool,
}

impl Byzantine {
    /// Applies the faults to a block about to be proposed.
    pub fn tamper(&self, block: &mut Block) {
        block.timestamp_ms = block
            .timestamp_ms
            .saturating_add(self.clock_ahead.as_millis() as u64);
        // Room for the stuffing within the block's cap, so the codec takes it and only
        // the voters' checks can refuse it.
        block
            .transactions
            .truncate(sable_primitives::block::MAX_BLOCK_TXS.saturating_sub(self.stuffing.len()));
        block.transactions.extend(self.stuffing.iter().cloned());
        block.admin.extend(self.admin_stuffing.iter().cloned());
        if self.wrong_state {
            block.state.root[0] ^= 1;
        }
    }
}
