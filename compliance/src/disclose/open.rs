//! Finding the opening of a transaction's output with a bank's full viewing key: the
//! note a disclosure proves things of, without the bank's spending key.

use sable_circuits::{
    keys::FullViewingKey,
    note::Note,
    note_encryption::{try_decrypt_incoming, try_decrypt_outgoing},
    transaction::Transaction,
};

/// The note at output `output` of `tx` (its index in `Transaction::commitments`), if
/// `fvk` can open it: an issued note (public), a note the bank received (its incoming
/// viewing key) or one it sent (its outgoing viewing key). `None` if there is no such
/// output or it is neither to nor from the bank.
pub fn open_output(tx: &Transaction, output: u32, fvk: &FullViewingKey) -> Option<Note> {
    let mut i = usize::try_from(output).ok()?;
    let issued: Vec<Note> = tx.issuances.iter().flat_map(|is| is.full_notes()).collect();
    if let Some(note) = issued.get(i) {
        return (note.owner() == fvk.address()).then_some(*note);
    }
    i -= issued.len();
    let (ivk, ovk) = (fvk.incoming_viewing_key(), fvk.outgoing_viewing_key());
    let actions: Vec<_> = tx
        .parts
        .iter()
        .flat_map(|p| p.effects.actions.iter())
        .collect();
    if let Some(a) = actions.get(i) {
        return try_decrypt_incoming(&ivk, &a.encrypted_note, &a.cm_new)
            .or_else(|| try_decrypt_outgoing(&ovk, &a.encrypted_note, &a.cv_net, &a.cm_new))
            .map(|(note, _memo)| note);
    }
    i -= actions.len();
    let d = tx.deposits.get(i)?;
    try_decrypt_incoming(&ivk, &d.encrypted_note, &d.cm).map(|(note, _)| note)
}

/// The outputs of `tx` that `fvk` received, by their index in
/// `Transaction::commitments`: issued notes to its address (public) and the notes its
/// incoming viewing key opens (its own address's; a note opened for another address
/// would be one the key can open but not spend, and the caller filters by owner).
pub fn received_outputs(tx: &Transaction, fvk: &FullViewingKey) -> Vec<(usize, Note)> {
    let ivk = fvk.incoming_viewing_key();
    let me = fvk.address();
    let issued = tx.issuances.iter().flat_map(|is| is.full_notes());
    let actions = tx.parts.iter().flat_map(|p| {
        p.effects
            .actions
            .iter()
            .map(|a| (&a.encrypted_note, a.cm_new))
    });
    let deposits = tx.deposits.iter().map(|d| (&d.encrypted_note, d.cm));
    let issued: Vec<Note> = issued.collect();
    let shielded = actions
        .chain(deposits)
        .map(|(enc, cm)| try_decrypt_incoming(&ivk, enc, &cm).map(|(note, _memo)| note));
    issued
        .iter()
        .map(|n| (n.owner() == me).then_some(*n))
        .chain(shielded)
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i, n)))
        .collect()
}
