//! Poseidon over `pallas::Base` (P128Pow5T3, width 3, rate 2), the one algebraic hash
//! of the protocol: note commitments, nullifiers, incoming viewing keys, both Merkle
//! trees and the regulator key stream all use it, so the circuit needs one chip.
//!
//! Inputs of different lengths are domain-separated by the sponge's capacity
//! initialisation (`ConstantLength<L>`).

use halo2_gadgets::poseidon::primitives::{self as poseidon, ConstantLength, P128Pow5T3};
use pasta_curves::pallas;

/// Hashes `L` field elements.
pub fn hash<const L: usize>(message: [pallas::Base; L]) -> pallas::Base {
    poseidon::Hash::<_, P128Pow5T3, ConstantLength<L>, 3, 2>::init().hash(message)
}

/// Hashes two field elements (a Merkle node, a registry leaf, a key-stream block).
pub fn hash2(a: pallas::Base, b: pallas::Base) -> pallas::Base {
    hash([a, b])
}
