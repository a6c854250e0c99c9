//! BLAKE2b-based PRF used to expand seeds into keys and randomness.

use blake2b_simd::Params;
use ff::FromUniformBytes;
use pasta_curves::pallas;

use crate::constants::PRF_EXPAND_PERSONALIZATION;

/// `PRF^expand(sk, t)`: 64 pseudo-random bytes for domain byte `t` and extra input.
pub fn prf_expand(seed: &[u8; 32], t: u8, extra: &[u8]) -> [u8; 64] {
    let hash = Params::new()
        .hash_length(64)
        .personal(PRF_EXPAND_PERSONALIZATION)
        .to_state()
        .update(seed)
        .update(&[t])
        .update(extra)
        .finalize();
    *hash.as_array()
}

/// Uniform base field element from a PRF output.
pub fn to_base(bytes: [u8; 64]) -> pallas::Base {
    pallas::Base::from_uniform_bytes(&bytes)
}

/// Uniform scalar from a PRF output.
pub fn to_scalar(bytes: [u8; 64]) -> pallas::Scalar {
    pallas::Scalar::from_uniform_bytes(&bytes)
}
