// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice One settled batch of Sable blocks: what 2f+1 validators sign (EIP-712) and
/// what the settlement contract anchors.
struct Batch {
    /// 1 for the first batch, then consecutive.
    uint64 number;
    /// The EIP-712 struct hash of the previous batch (the contract's genesis hash for
    /// the first batch).
    bytes32 parent;
    /// The Sable block range this batch settles, inclusive, contiguous with the last.
    uint64 firstBlock;
    uint64 lastBlock;
    /// The note commitment tree root and the nullifier set root after `lastBlock`.
    bytes32 commitmentRoot;
    bytes32 nullifierRoot;
    /// The fold of every chunk of the batch's public data (blocks, transactions,
    /// proofs) published on L1, as calldata or blobs; see `SableSettlement.fold`.
    bytes32 dataHash;
    /// keccak256(abi.encode(withdrawals)) of the withdrawals this batch releases.
    bytes32 withdrawalsHash;
    /// The number of bridge deposits minted as shielded notes up to this batch
    /// (cumulative, never decreasing).
    uint64 depositsConsumed;
    /// The validator set that signs it.
    uint64 validatorSetId;
}

/// @notice A shielded burn released to an L1 recipient by a settled batch.
struct Withdrawal {
    /// Unique per withdrawal: the burn's nullifier on Sable.
    bytes32 id;
    address token;
    address recipient;
    uint256 amount;
}

/// @notice What the bridge needs from the settlement contract.
interface ISableSettlement {
    /// Reverts unless `signatures` hold a quorum of the current validator set over the
    /// EIP-712 digest of `structHash` in the settlement contract's domain.
    function verifyQuorum(bytes32 structHash, bytes calldata signatures) external view;
}

/// @notice What the settlement contract needs from the bridge.
interface ISableBridge {
    /// Deposits made so far (the next deposit's index).
    function depositCount() external view returns (uint64);
    /// Makes `withdrawals` claimable; only the settlement contract may call it.
    function release(uint64 batch, Withdrawal[] calldata withdrawals) external;
}
