//! Low-level primitives shared by the native specification and the circuit.

pub mod poseidon;
pub mod prf;
