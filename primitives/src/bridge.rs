//! The bridge's withdrawals as the chain records them: each burn that names an Ethereum
//! recipient, with the id the bridge contract pays it under.

use sable_circuits::{encoding::Writer, transaction::Transaction};

use crate::block::{hash32, TxId};

/// A withdrawal a block executed: a burn naming an Ethereum recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// Its id on L1 ([`WithdrawalRecord::id_of`]).
    pub id: [u8; 32],
    /// The Sable asset burned.
    pub asset: [u8; 32],
    /// The value burned, in Sable units.
    pub value: u64,
    /// Who the bridge pays.
    pub recipient: [u8; 20],
}

/// Bytes of one encoded record.
const WITHDRAWAL_BYTES: usize = 32 + 32 + 8 + 20;

impl WithdrawalRecord {
    /// The id of burn `burn` of part `part` of the transaction `tx`: unique, since a
    /// transaction executes at most once, and computable by its sender.
    pub fn id_of(tx: &TxId, part: usize, burn: usize) -> [u8; 32] {
        let mut w = Writer::new();
        w.bytes(&tx.0).u32(part as u32).u32(burn as u32);
        hash32(b"Sable_Withdrawal", &w.into_bytes())
    }

    /// The withdrawals of `tx`, whose id is `id`, in order.
    pub fn of(id: &TxId, tx: &Transaction) -> Vec<Self> {
        tx.withdrawals()
            .map(|(part, burn, b)| WithdrawalRecord {
                id: Self::id_of(id, part, burn),
                asset: b.asset.0,
                value: b.value,
                recipient: b.recipient,
            })
            .collect()
    }

    /// The records' encoding, one after another: id · asset · value (u64 LE) · recipient.
    pub fn encode_all(records: &[Self]) -> Vec<u8> {
        let mut v = Vec::with_capacity(records.len() * WITHDRAWAL_BYTES);
        for r in records {
            v.extend_from_slice(&r.id);
            v.extend_from_slice(&r.asset);
            v.extend_from_slice(&r.value.to_le_bytes());
            v.extend_from_slice(&r.recipient);
        }
        v
    }

    /// Parses [`WithdrawalRecord::encode_all`]'s output; `None` if it is not whole records.
    pub fn decode_all(b: &[u8]) -> Option<Vec<Self>> {
        if !b.len().is_multiple_of(WITHDRAWAL_BYTES) {
            return None;
        }
        b.chunks_exact(WITHDRAWAL_BYTES)
            .map(|c| {
                Some(WithdrawalRecord {
                    id: c[..32].try_into().ok()?,
                    asset: c[32..64].try_into().ok()?,
                    value: u64::from_le_bytes(c[64..72].try_into().ok()?),
                    recipient: c[72..].try_into().ok()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(i: u8) -> WithdrawalRecord {
        WithdrawalRecord {
            id: [i; 32],
            asset: [i + 1; 32],
            value: u64::from(i) * 1000,
            recipient: [i + 2; 20],
        }
    }

    #[test]
    fn withdrawal_ids_differ_by_transaction_part_and_burn() {
        let (a, b) = (TxId([1; 32]), TxId([2; 32]));
        let ids = [
            WithdrawalRecord::id_of(&a, 0, 0),
            WithdrawalRecord::id_of(&a, 0, 1),
            WithdrawalRecord::id_of(&a, 1, 0),
            WithdrawalRecord::id_of(&b, 0, 0),
        ];
        for (i, x) in ids.iter().enumerate() {
            for y in &ids[i + 1..] {
                assert_ne!(x, y);
            }
        }
        assert_eq!(ids[0], WithdrawalRecord::id_of(&a, 0, 0));
    }

    #[test]
    fn records_round_trip_and_partial_records_are_refused() {
        let all = vec![record(1), record(2), record(3)];
        let bytes = WithdrawalRecord::encode_all(&all);
        assert_eq!(WithdrawalRecord::decode_all(&bytes).unwrap(), all);
        assert_eq!(WithdrawalRecord::decode_all(&bytes[1..]), None);
        assert_eq!(WithdrawalRecord::decode_all(&[]).unwrap(), vec![]);
    }
}
