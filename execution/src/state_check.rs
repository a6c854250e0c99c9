//! The stateful checks of a transaction that admission shares with execution.
//!
//! A state read that fails is never a transaction's verdict ([`StateCheckError`]): it
//! stops execution of the block, which commits nothing, so one validator's disk fault
//! cannot silently fork its state from the others'.

use sable_circuits::{
    constants::MAX_EXPIRY_DELTA,
    registry::RegistryRoot,
    transaction::{Transaction, TxHeader},
};
use sable_primitives::{AdmissionError, RegulatorSchedule, Rejection};
use sable_storage::{ChainReader, Staged, StorageError};

use crate::ChainParams;

/// Why a state check or an operator command did not pass: a verdict that execution
/// records, or a storage failure that decides nothing and stops execution (recording it
/// as the command's outcome would fork this validator's state from the others').
#[derive(Debug, thiserror::Error)]
pub enum StateCheckError {
    /// The command is refused, alike on every validator.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The state could not be read.
    #[error("state unavailable: {0}")]
    Storage(#[from] StorageError),
}

impl From<StateCheckError> for AdmissionError {
    fn from(e: StateCheckError) -> Self {
        match e {
            StateCheckError::Rejected(r) => r.into(),
            StateCheckError::Storage(e) => AdmissionError::Unavailable(e.to_string()),
        }
    }
}

/// Stateful checks of a transaction against `view` (the tip for admission, the state
/// so far in the block for execution). Nullifier conflicts with other pending
/// transactions are the mempool's concern. A read failure is
/// [`StateCheckError::Storage`], never a verdict: it decides nothing about the
/// transaction.
pub fn check_state(
    view: &Staged<'_>,
    params: &ChainParams,
    tx: &Transaction,
) -> Result<(), StateCheckError> {
    let tip = view.height()?;
    check_header(&tx.header, params, tip + 1)?;
    check_regulator_key(
        &tx.header,
        &view.regulator_schedule(params.regulator)?,
        tip + 1,
    )?;
    let last_removal = view.last_removal()?;
    for (i, iss) in tx.issuances.iter().enumerate() {
        let key: [u8; 32] = iss.issuer.into();
        if view.issuer(&key)?.is_none() {
            return Err(Rejection::UnauthorizedIssuer.into());
        }
        // Unregistered participants can neither hold nor receive notes: an issuance is
        // a receipt like any other (a shielded output proves its recipient registered).
        for (n, note) in iss.notes.iter().enumerate() {
            if view.participant(&note.owner.to_bytes())?.is_none() {
                return Err(Rejection::UnregisteredRecipient {
                    issuance: i,
                    note: n,
                }
                .into());
            }
        }
    }
    let registry_root_ok = |root: &RegistryRoot| -> Result<(), StateCheckError> {
        match view.registry_root_last_current(&root.to_bytes())? {
            None => Err(Rejection::StaleRegistryRoot.into()),
            Some(last_current) => {
                if registry_root_acceptable(
                    last_current,
                    tip,
                    last_removal,
                    params.registry_root_window,
                ) {
                    Ok(())
                } else {
                    Err(Rejection::StaleRegistryRoot.into())
                }
            }
        }
    };
    for part in &tx.parts {
        let e = &part.effects;
        if !view.is_anchor(&e.anchor.to_bytes())? {
            return Err(Rejection::UnknownAnchor.into());
        }
        registry_root_ok(&e.registry_root)?;
        for a in &e.actions {
            if view.is_spent(&a.nf.to_bytes())? {
                return Err(Rejection::SpentNullifier.into());
            }
        }
    }
    for d in &tx.deposits {
        registry_root_ok(&d.registry_root)?;
        if view.is_deposit_minted(d.index)? {
            return Err(Rejection::DepositConsumed(d.index).into());
        }
    }
    Ok(())
}

/// Whether a transaction with `header` may be in a block at `height`: signed for this
/// chain, not expired, and not expiring further ahead than [`MAX_EXPIRY_DELTA`] (a
/// signed transaction is never a free option for ever).
pub fn check_header(header: &TxHeader, params: &ChainParams, height: u64) -> Result<(), Rejection> {
    if header.chain != params.chain {
        return Err(Rejection::WrongChain {
            expected: params.chain.to_string(),
            found: header.chain.to_string(),
        });
    }
    let horizon = height.saturating_add(MAX_EXPIRY_DELTA);
    if header.expiry_height < height || header.expiry_height > horizon {
        return Err(Rejection::Expired {
            expiry: header.expiry_height,
            height,
            horizon,
        });
    }
    Ok(())
}

/// Whether a transaction with `header` may be in a block at `height` by the chain's
/// regulator key schedule: its proofs were verified against the key it names, which
/// must be the key the schedule gives that height (never one from before a rotation,
/// nor one the sender chose).
pub fn check_regulator_key(
    header: &TxHeader,
    schedule: &RegulatorSchedule,
    height: u64,
) -> Result<(), Rejection> {
    let expected = schedule.key_at(height);
    if header.regulator != expected {
        return Err(Rejection::WrongRegulatorKey {
            expected: expected.to_string(),
            found: header.regulator.to_string(),
            height,
        });
    }
    Ok(())
}

/// Whether a registry root may still be proven against at `tip`: the current root
/// (`last_current == u64::MAX`), or one superseded at most `window` blocks ago by
/// something other than a removal (a removal binds from the next block).
pub fn registry_root_acceptable(
    last_current: u64,
    tip: u64,
    last_removal: u64,
    window: u64,
) -> bool {
    last_current == u64::MAX
        || (last_current + 1 > last_removal && tip.saturating_sub(last_current) <= window)
}
