//! Note encryption to recipients, and recovery by senders.
//!
//! Every new note travels with an [`EncryptedNote`] that tells its recipient what it
//! holds. A recipient finds its notes by *trial decryption*: it tries every action's
//! ciphertext with its [`IncomingViewingKey`] ([`try_decrypt_incoming`]), and keeps those
//! that decrypt and re-derive the action's note commitment. A sender who passed its
//! [`OutgoingViewingKey`] to [`encrypt_note`] can later recover the notes it sent
//! ([`try_decrypt_outgoing`]).
//!
//! This encryption is **not** proven in the circuit: a malicious sender can attach
//! garbage, and the recipient then simply does not find the note (which it would have to
//! learn about out of band). The encryption that the circuit *does* enforce, so that
//! every note is visible to the regulator, is in [`crate::regulator`].
//!
//! # Scheme
//! In the manner of Zcash's note encryption (without diversifiers), with
//! `G_ka` = [`key_agreement_generator`]:
//!
//! ```text
//! esk  ← random non-zero scalar          epk = [esk] G_ka
//! K    = BLAKE2b-256("Sable_NoteKDF___", [esk] pk || epk)      ([ivk] epk for the recipient)
//! ock  = BLAKE2b-256("Sable_OutCipherK", ovk || cv || cm || epk)  (random if no ovk)
//! enc_ciphertext = ChaCha20Poly1305(K,   nonce = 0, note plaintext)
//! out_ciphertext = ChaCha20Poly1305(ock, nonce = 0, pk || esk)
//! ```
//!
//! Each key encrypts exactly one message, so the all-zero nonce is safe.
//!
//! # Format
//! - Note plaintext ([`NOTE_PLAINTEXT_SIZE`] = 136 bytes): asset id (32) || value
//!   (`u64` little-endian, 8) || `rcm` (canonical `pallas::Base`, 32) || memo
//!   ([`MEMO_SIZE`] = 64).
//! - Out plaintext ([`OUT_PLAINTEXT_SIZE`] = 64 bytes): recipient address (compressed
//!   point, 32) || `esk` (canonical `pallas::Scalar`, 32).
//! - Each ciphertext is its plaintext followed by a 16-byte Poly1305 tag.
//! - [`EncryptedNote`] encodes as `epk` (32) || `enc_ciphertext` (152) ||
//!   `out_ciphertext` (80) = [`ENCRYPTED_NOTE_SIZE`] bytes.

use blake2b_simd::Params;
use chacha20poly1305::{
    aead::{AeadInOut, KeyInit},
    ChaCha20Poly1305, Key, Nonce, Tag,
};
use ff::{Field, PrimeField};
use group::{Curve, GroupEncoding};
use pasta_curves::pallas;
use rand_core::CryptoRng;

use crate::{
    asset::AssetId,
    constants::{KDF_PERSONALIZATION, OCK_PERSONALIZATION},
    encoding::{decode_base, decode_non_identity_point, DecodeError, Reader, Writer},
    keys::{key_agreement_generator, Address, IncomingViewingKey, OutgoingViewingKey},
    note::{Note, NoteCommitment, NoteValue},
    value::ValueCommitment,
};

/// Size of the memo carried in every note plaintext.
pub const MEMO_SIZE: usize = 64;

/// Size of the Poly1305 authentication tag appended to each ciphertext.
const TAG_SIZE: usize = 16;

/// Size of the note plaintext: asset id (32) || value (8) || `rcm` (32) || memo (64).
pub const NOTE_PLAINTEXT_SIZE: usize = 32 + 8 + 32 + MEMO_SIZE;

/// Size of the note ciphertext decryptable by the recipient.
pub const ENC_CIPHERTEXT_SIZE: usize = NOTE_PLAINTEXT_SIZE + TAG_SIZE;

/// Size of the out plaintext: recipient address (32) || `esk` (32).
pub const OUT_PLAINTEXT_SIZE: usize = 32 + 32;

/// Size of the out ciphertext decryptable by the sender.
pub const OUT_CIPHERTEXT_SIZE: usize = OUT_PLAINTEXT_SIZE + TAG_SIZE;

/// Size of an encoded [`EncryptedNote`].
pub const ENCRYPTED_NOTE_SIZE: usize = 32 + ENC_CIPHERTEXT_SIZE + OUT_CIPHERTEXT_SIZE;

/// The encryption of one new note: to its recipient, and to its sender's outgoing
/// viewing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedNote {
    /// The ephemeral public key `epk = [esk] G_ka` (compressed point).
    pub epk: [u8; 32],
    /// The note plaintext encrypted to the recipient.
    pub enc_ciphertext: [u8; ENC_CIPHERTEXT_SIZE],
    /// The recipient address and `esk`, encrypted under the sender's `ock`.
    pub out_ciphertext: [u8; OUT_CIPHERTEXT_SIZE],
}

impl EncryptedNote {
    /// Appends the canonical encoding (`epk || enc_ciphertext || out_ciphertext`).
    pub fn write(&self, w: &mut Writer) {
        w.bytes(&self.epk)
            .bytes(&self.enc_ciphertext)
            .bytes(&self.out_ciphertext);
    }

    /// Reads the canonical encoding; `epk` must be a valid non-identity point.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epk: [u8; 32] = r.array("note encryption epk")?;
        decode_non_identity_point(&epk, "note encryption epk")?;
        let enc_ciphertext = r.array("note enc_ciphertext")?;
        let out_ciphertext = r.array("note out_ciphertext")?;
        Ok(EncryptedNote {
            epk,
            enc_ciphertext,
            out_ciphertext,
        })
    }
}

/// `K = BLAKE2b-256(KDF_PERSONALIZATION, shared || epk)`.
fn kdf(shared: &pallas::Affine, epk: &[u8; 32]) -> [u8; 32] {
    let h = Params::new()
        .hash_length(32)
        .personal(KDF_PERSONALIZATION)
        .to_state()
        .update(&shared.to_bytes())
        .update(epk)
        .finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(h.as_bytes());
    out
}

/// `ock = BLAKE2b-256(OCK_PERSONALIZATION, ovk || cv || cm || epk)`.
fn derive_ock(
    ovk: &OutgoingViewingKey,
    cv: &ValueCommitment,
    cm: &NoteCommitment,
    epk: &[u8; 32],
) -> [u8; 32] {
    let h = Params::new()
        .hash_length(32)
        .personal(OCK_PERSONALIZATION)
        .to_state()
        .update(&ovk.0)
        .update(&cv.to_bytes())
        .update(&cm.to_bytes())
        .update(epk)
        .finalize();
    let mut out = [0u8; 32];
    out.copy_from_slice(h.as_bytes());
    out
}

/// Encrypts `plaintext` in place under the single-use `key` (zero nonce); returns the tag.
fn seal(key: &[u8; 32], plaintext: &mut [u8]) -> [u8; TAG_SIZE] {
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    let tag = cipher
        .encrypt_inout_detached(&Nonce::default(), &[], plaintext.into())
        .expect("note plaintexts are far below the ChaCha20Poly1305 length limit");
    let mut out = [0u8; TAG_SIZE];
    out.copy_from_slice(tag.as_slice());
    out
}

/// Decrypts `ciphertext || tag` under the single-use `key` (zero nonce).
fn open<const N: usize>(key: &[u8; 32], ciphertext: &[u8]) -> Option<[u8; N]> {
    if ciphertext.len() != N + TAG_SIZE {
        return None;
    }
    let (ct, tag) = ciphertext.split_at(N);
    let mut buf = [0u8; N];
    buf.copy_from_slice(ct);
    let mut tag_bytes = [0u8; TAG_SIZE];
    tag_bytes.copy_from_slice(tag);
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    cipher
        .decrypt_inout_detached(
            &Nonce::default(),
            &[],
            buf.as_mut_slice().into(),
            &Tag::from(tag_bytes),
        )
        .ok()?;
    Some(buf)
}

fn note_plaintext(note: &Note, memo: &[u8; MEMO_SIZE]) -> [u8; NOTE_PLAINTEXT_SIZE] {
    let mut pt = [0u8; NOTE_PLAINTEXT_SIZE];
    pt[..32].copy_from_slice(&note.asset().0);
    pt[32..40].copy_from_slice(&note.value().inner().to_le_bytes());
    pt[40..72].copy_from_slice(&note.rcm().to_repr());
    pt[72..].copy_from_slice(memo);
    pt
}

/// Parses a note plaintext into `(asset, value, rcm, memo)`; `None` if `rcm` is not
/// canonical.
fn parse_note_plaintext(
    pt: &[u8; NOTE_PLAINTEXT_SIZE],
) -> Option<(AssetId, NoteValue, pallas::Base, [u8; MEMO_SIZE])> {
    let mut r = Reader::new(pt);
    let asset = AssetId(r.array("asset id").ok()?);
    let value = NoteValue(r.u64("value").ok()?);
    let rcm = decode_base(&r.array("rcm").ok()?, "rcm").ok()?;
    let memo = r.array::<MEMO_SIZE>("memo").ok()?;
    r.finish().ok()?;
    Some((asset, value, rcm, memo))
}

/// Decrypts the enc ciphertext under `key` and rebuilds the note for `owner`, checking
/// it against `cm`.
fn recover_note(
    key: &[u8; 32],
    enc: &EncryptedNote,
    owner: Address,
    cm: &NoteCommitment,
) -> Option<(Note, [u8; MEMO_SIZE])> {
    let pt = open::<NOTE_PLAINTEXT_SIZE>(key, &enc.enc_ciphertext)?;
    let (asset, value, rcm, memo) = parse_note_plaintext(&pt)?;
    let note = Note::from_parts(asset, value, owner, rcm);
    if note.commitment() != *cm {
        return None;
    }
    Some((note, memo))
}

/// Encrypts `note` and `memo` to the note's owner.
///
/// With `ovk`, the sender can later recover the note with [`try_decrypt_outgoing`]
/// (given the action's value commitment `cv` and the note's commitment); without it the
/// out ciphertext is under a random key that nobody keeps.
pub fn encrypt_note(
    note: &Note,
    memo: &[u8; MEMO_SIZE],
    ovk: Option<(&OutgoingViewingKey, &ValueCommitment)>,
    rng: &mut impl CryptoRng,
) -> EncryptedNote {
    let esk = loop {
        let s = pallas::Scalar::random(&mut *rng);
        if !bool::from(s.is_zero()) {
            break s;
        }
    };
    let g_ka = pallas::Point::from(key_agreement_generator());
    let epk = (g_ka * esk).to_affine().to_bytes();
    let pk = pallas::Point::from(note.owner().to_affine());
    let shared = (pk * esk).to_affine();
    let key = kdf(&shared, &epk);

    let mut enc_pt = note_plaintext(note, memo);
    let enc_tag = seal(&key, &mut enc_pt);
    let mut enc_ciphertext = [0u8; ENC_CIPHERTEXT_SIZE];
    enc_ciphertext[..NOTE_PLAINTEXT_SIZE].copy_from_slice(&enc_pt);
    enc_ciphertext[NOTE_PLAINTEXT_SIZE..].copy_from_slice(&enc_tag);

    let ock = match ovk {
        Some((ovk, cv)) => derive_ock(ovk, cv, &note.commitment(), &epk),
        None => {
            let mut ock = [0u8; 32];
            rng.fill_bytes(&mut ock);
            ock
        }
    };
    let mut out_pt = [0u8; OUT_PLAINTEXT_SIZE];
    out_pt[..32].copy_from_slice(&note.owner().to_bytes());
    out_pt[32..].copy_from_slice(&esk.to_repr());
    let out_tag = seal(&ock, &mut out_pt);
    let mut out_ciphertext = [0u8; OUT_CIPHERTEXT_SIZE];
    out_ciphertext[..OUT_PLAINTEXT_SIZE].copy_from_slice(&out_pt);
    out_ciphertext[OUT_PLAINTEXT_SIZE..].copy_from_slice(&out_tag);

    EncryptedNote {
        epk,
        enc_ciphertext,
        out_ciphertext,
    }
}

/// Trial decryption by a recipient: the note and memo if `enc` was encrypted to the
/// address of `ivk` and its plaintext re-derives the note commitment `cm`; otherwise
/// `None` (never a panic, whatever the bytes).
pub fn try_decrypt_incoming(
    ivk: &IncomingViewingKey,
    enc: &EncryptedNote,
    cm: &NoteCommitment,
) -> Option<(Note, [u8; MEMO_SIZE])> {
    let epk = decode_non_identity_point(&enc.epk, "epk").ok()?;
    let shared = (pallas::Point::from(epk) * ivk.scalar()).to_affine();
    let key = kdf(&shared, &enc.epk);
    recover_note(&key, enc, ivk.address(), cm)
}

/// Recovery by the sender: the note and memo if `enc` was encrypted with `ovk` for the
/// action with value commitment `cv` and note commitment `cm`; otherwise `None` (never a
/// panic, whatever the bytes).
pub fn try_decrypt_outgoing(
    ovk: &OutgoingViewingKey,
    enc: &EncryptedNote,
    cv: &ValueCommitment,
    cm: &NoteCommitment,
) -> Option<(Note, [u8; MEMO_SIZE])> {
    let epk = decode_non_identity_point(&enc.epk, "epk").ok()?;
    let ock = derive_ock(ovk, cv, cm, &enc.epk);
    let out_pt = open::<OUT_PLAINTEXT_SIZE>(&ock, &enc.out_ciphertext)?;

    let mut addr_bytes = [0u8; 32];
    addr_bytes.copy_from_slice(&out_pt[..32]);
    let owner = Address::from_bytes(&addr_bytes).ok()?;
    let mut esk_bytes = [0u8; 32];
    esk_bytes.copy_from_slice(&out_pt[32..]);
    let esk: pallas::Scalar = Option::from(pallas::Scalar::from_repr(esk_bytes))?;

    let g_ka = pallas::Point::from(key_agreement_generator());
    if (g_ka * esk).to_affine() != epk {
        return None;
    }
    let shared = (pallas::Point::from(owner.to_affine()) * esk).to_affine();
    let key = kdf(&shared, &enc.epk);
    recover_note(&key, enc, owner, cm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        keys::SpendingKey,
        value::{ValueCommitTrapdoor, ValueSum},
    };

    struct Fixture {
        sender: SpendingKey,
        recipient: SpendingKey,
        note: Note,
        memo: [u8; MEMO_SIZE],
        cv: ValueCommitment,
    }

    fn fixture() -> Fixture {
        let mut rng = rand::rng();
        let sender = SpendingKey::random(&mut rng);
        let recipient = SpendingKey::random(&mut rng);
        let asset = AssetId::from_name("USD deposit token/BankA");
        let value = 1_234_567u64;
        let note = Note::new(
            asset,
            NoteValue(value),
            recipient.full_viewing_key().address(),
            &mut rng,
        );
        let mut memo = [0u8; MEMO_SIZE];
        memo[..11].copy_from_slice(b"invoice 42!");
        let cv = ValueCommitment::derive(
            ValueSum::net(0, value),
            asset.base(),
            ValueCommitTrapdoor::random(&mut rng),
        );
        Fixture {
            sender,
            recipient,
            note,
            memo,
            cv,
        }
    }

    fn encrypt(f: &Fixture, with_ovk: bool) -> EncryptedNote {
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();
        encrypt_note(
            &f.note,
            &f.memo,
            with_ovk.then_some((&ovk, &f.cv)),
            &mut rand::rng(),
        )
    }

    #[test]
    fn incoming_round_trip() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let ivk = f.recipient.full_viewing_key().incoming_viewing_key();
        let (note, memo) = try_decrypt_incoming(&ivk, &enc, &f.note.commitment()).unwrap();
        assert_eq!(note, f.note);
        assert_eq!(memo, f.memo);
    }

    #[test]
    fn outgoing_round_trip() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();
        let (note, memo) = try_decrypt_outgoing(&ovk, &enc, &f.cv, &f.note.commitment()).unwrap();
        assert_eq!(note, f.note);
        assert_eq!(memo, f.memo);
    }

    #[test]
    fn wrong_ivk_finds_nothing() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let cm = f.note.commitment();
        let other = SpendingKey::random(&mut rand::rng());
        let ivk = other.full_viewing_key().incoming_viewing_key();
        assert!(try_decrypt_incoming(&ivk, &enc, &cm).is_none());
        // The sender's own ivk is not the recipient's either.
        let ivk = f.sender.full_viewing_key().incoming_viewing_key();
        assert!(try_decrypt_incoming(&ivk, &enc, &cm).is_none());
    }

    #[test]
    fn wrong_ovk_recovers_nothing() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let cm = f.note.commitment();
        let ovk = f.recipient.full_viewing_key().outgoing_viewing_key();
        assert!(try_decrypt_outgoing(&ovk, &enc, &f.cv, &cm).is_none());
        // The right ovk with the wrong value commitment also fails.
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();
        let other_cv = ValueCommitment::derive(
            ValueSum::net(0, 1),
            f.note.asset().base(),
            ValueCommitTrapdoor::random(&mut rand::rng()),
        );
        assert!(try_decrypt_outgoing(&ovk, &enc, &other_cv, &cm).is_none());
    }

    #[test]
    fn without_ovk_sender_cannot_recover_but_recipient_can() {
        let f = fixture();
        let enc = encrypt(&f, false);
        let cm = f.note.commitment();
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();
        assert!(try_decrypt_outgoing(&ovk, &enc, &f.cv, &cm).is_none());
        let ivk = f.recipient.full_viewing_key().incoming_viewing_key();
        assert_eq!(try_decrypt_incoming(&ivk, &enc, &cm).unwrap().0, f.note);
    }

    #[test]
    fn tampered_ciphertexts_are_rejected() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let cm = f.note.commitment();
        let ivk = f.recipient.full_viewing_key().incoming_viewing_key();
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();

        for i in [0, 40, NOTE_PLAINTEXT_SIZE - 1, ENC_CIPHERTEXT_SIZE - 1] {
            let mut bad = enc.clone();
            bad.enc_ciphertext[i] ^= 1;
            assert!(try_decrypt_incoming(&ivk, &bad, &cm).is_none());
            assert!(try_decrypt_outgoing(&ovk, &bad, &f.cv, &cm).is_none());
        }
        for i in [0, 32, OUT_CIPHERTEXT_SIZE - 1] {
            let mut bad = enc.clone();
            bad.out_ciphertext[i] ^= 1;
            assert!(try_decrypt_outgoing(&ovk, &bad, &f.cv, &cm).is_none());
            // The recipient does not use the out ciphertext.
            assert!(try_decrypt_incoming(&ivk, &bad, &cm).is_some());
        }
        // A different (valid or invalid) epk breaks both.
        let mut bad = enc.clone();
        bad.epk = (pallas::Point::from(key_agreement_generator()) * pallas::Scalar::from(7))
            .to_affine()
            .to_bytes();
        assert!(try_decrypt_incoming(&ivk, &bad, &cm).is_none());
        assert!(try_decrypt_outgoing(&ovk, &bad, &f.cv, &cm).is_none());
        let mut bad = enc;
        bad.epk = [0u8; 32];
        assert!(try_decrypt_incoming(&ivk, &bad, &cm).is_none());
        assert!(try_decrypt_outgoing(&ovk, &bad, &f.cv, &cm).is_none());
    }

    #[test]
    fn wrong_commitment_is_rejected() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let ivk = f.recipient.full_viewing_key().incoming_viewing_key();
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();
        let other = Note::new(
            f.note.asset(),
            f.note.value(),
            f.note.owner(),
            &mut rand::rng(),
        )
        .commitment();
        assert!(try_decrypt_incoming(&ivk, &enc, &other).is_none());
        assert!(try_decrypt_outgoing(&ovk, &enc, &f.cv, &other).is_none());
    }

    #[test]
    fn encoding_round_trip() {
        let f = fixture();
        let enc = encrypt(&f, true);
        let mut w = Writer::new();
        enc.write(&mut w);
        let bytes = w.into_bytes();
        assert_eq!(bytes.len(), ENCRYPTED_NOTE_SIZE);
        let mut r = Reader::new(&bytes);
        assert_eq!(EncryptedNote::read(&mut r).unwrap(), enc);
        r.finish().unwrap();
    }

    #[test]
    fn truncated_encoding_is_rejected() {
        let f = fixture();
        let mut w = Writer::new();
        encrypt(&f, true).write(&mut w);
        let bytes = w.into_bytes();
        for len in [0, 31, 32, 100, ENCRYPTED_NOTE_SIZE - 1] {
            let mut r = Reader::new(&bytes[..len]);
            assert!(matches!(
                EncryptedNote::read(&mut r),
                Err(DecodeError::Truncated { .. })
            ));
        }
    }

    #[test]
    fn epk_off_the_curve_is_rejected() {
        let f = fixture();
        let mut w = Writer::new();
        encrypt(&f, true).write(&mut w);
        let mut bytes = w.into_bytes();
        let mut bad = [0u8; 32];
        let found = (2u8..=255).any(|x| {
            bad[0] = x;
            decode_non_identity_point(&bad, "p") == Err(DecodeError::InvalidPoint("p"))
        });
        assert!(found, "some small x is not on the curve");
        bytes[..32].copy_from_slice(&bad);
        let mut r = Reader::new(&bytes);
        assert!(matches!(
            EncryptedNote::read(&mut r),
            Err(DecodeError::InvalidPoint(_))
        ));
        // The identity is rejected too.
        bytes[..32].copy_from_slice(&[0u8; 32]);
        let mut r = Reader::new(&bytes);
        assert!(matches!(
            EncryptedNote::read(&mut r),
            Err(DecodeError::IdentityPoint(_))
        ));
    }

    #[test]
    fn malformed_plaintexts_do_not_panic() {
        // Random ciphertexts under a valid epk: always None, never a panic.
        let f = fixture();
        let ivk = f.recipient.full_viewing_key().incoming_viewing_key();
        let ovk = f.sender.full_viewing_key().outgoing_viewing_key();
        let cm = f.note.commitment();
        let mut enc = encrypt(&f, true);
        let mut rng = rand::rng();
        for _ in 0..16 {
            rand_core::Rng::fill_bytes(&mut rng, &mut enc.enc_ciphertext);
            rand_core::Rng::fill_bytes(&mut rng, &mut enc.out_ciphertext);
            assert!(try_decrypt_incoming(&ivk, &enc, &cm).is_none());
            assert!(try_decrypt_outgoing(&ovk, &enc, &f.cv, &cm).is_none());
        }
    }
}
