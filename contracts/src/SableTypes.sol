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
    /// Unique per withdrawal: derived on Sable from the burning transaction's id and
    /// the burn's place in it.
    bytes32 id;
    address token;
    address recipient;
    uint256 amount;
}

/// @notice A validator-set rotation: what a quorum of the current set signs (EIP-712) to
/// hand over to `validators` (ascending) as set `validatorSetId`.
struct Rotation {
    uint64 validatorSetId;
    address[] validators;
}

/// @notice The settlement contract's whole external interface: its functions, events
/// and errors. The Rust bindings (`settlement/src/bindings.rs`) are generated from this
/// file, so it is the one description of the ABI.
interface ISableSettlement {
    event ValidatorSetRotated(uint64 indexed validatorSetId, address[] validators, uint256 quorum);
    event BridgeBound(address indexed bridge);
    event DataPublished(uint64 indexed number, address indexed publisher, bytes32 fold, uint256 blobs);
    event BatchSettled(uint64 indexed number, bytes32 indexed hash, Batch batch, uint256 withdrawals);

    error EmptyValidatorSet();
    error ValidatorsNotAscending(uint256 index);
    error NotDeployer();
    error BridgeAlreadyBound();
    error BridgeNotBound();
    error StaleValidatorSet(uint64 signed, uint64 current);
    error BatchAlreadySettled(uint64 number);
    error BatchGap(uint64 number, uint64 expected);
    error ParentMismatch(bytes32 parent, bytes32 expected);
    error BadBlockRange(uint64 firstBlock, uint64 lastBlock, uint64 expectedFirst);
    error BadDepositsConsumed(uint64 consumed, uint64 previous, uint64 deposits);
    error WithdrawalsMismatch();
    error DataMismatch(bytes32 dataHash, bytes32 published);
    error BadSignatureLength(uint256 length);
    error InvalidSignature(uint256 index);
    error SignersNotAscending(uint256 index);
    error NotValidator(address signer);
    error NoQuorum(uint256 signers, uint256 quorum);

    function bindBridge(ISableBridge bridge_) external;
    function getValidators() external view returns (address[] memory);
    function isValidator(address who) external view returns (bool);
    function quorum() external view returns (uint256);
    function hashBatch(Batch calldata b) external pure returns (bytes32);
    function digest(bytes32 structHash) external view returns (bytes32);
    function fold(bytes32 acc, bytes calldata chunk) external view returns (bytes32, uint256 blobs);
    function publish(uint64 number, bool restart, bytes calldata chunk) external;
    function submitBatch(
        Batch calldata b,
        Withdrawal[] calldata withdrawals,
        bytes calldata data,
        bytes calldata signatures
    ) external;
    function rotateValidators(address[] calldata newValidators, bytes calldata signatures) external;
    /// Reverts unless `signatures` hold a quorum of the current validator set over the
    /// EIP-712 digest of `structHash` in the settlement contract's domain.
    function verifyQuorum(bytes32 structHash, bytes calldata signatures) external view;
    function genesis() external view returns (bytes32);
    function bridge() external view returns (ISableBridge);
    function validatorSetId() external view returns (uint64);
    function lastBatch() external view returns (uint64);
    function lastBlock() external view returns (uint64);
    function depositsConsumed() external view returns (uint64);
    function lastBatchHash() external view returns (bytes32);
    function commitmentRoot() external view returns (bytes32);
    function nullifierRoot() external view returns (bytes32);
    function batchHash(uint64 number) external view returns (bytes32);
    function published(address publisher, uint64 number) external view returns (bytes32);
}

/// @notice The bridge's whole external interface (see `ISableSettlement`).
interface ISableBridge {
    event AssetListed(address indexed token, bytes32 indexed assetId, uint256 unit);
    event Deposited(
        uint64 indexed index,
        address indexed depositor,
        address indexed token,
        bytes32 assetId,
        uint256 amount,
        uint64 value,
        uint256 noteCommitment
    );
    event WithdrawalReleased(
        uint64 indexed batch, bytes32 indexed id, address token, address recipient, uint256 amount
    );
    event WithdrawalPaid(bytes32 indexed id, address indexed recipient, address token, uint256 amount);
    event PausedSet(bool paused, uint64 nonce);

    error NotSettlement();
    error BridgePaused();
    error TokenNotListed(address token);
    error AlreadyListed(address token);
    error AssetIdTaken(bytes32 assetId, address token);
    error BadUnit();
    error ZeroAmount();
    error AmountNotMultipleOfUnit(uint256 amount, uint256 unit);
    error ValueTooLarge(uint256 value);
    error NonCanonicalCommitment(uint256 noteCommitment);
    error TransferShortfall(uint256 received, uint256 amount);
    error WithdrawalAlreadyReleased(bytes32 id);
    error NotClaimable(bytes32 id);

    function listAsset(address token, bytes32 assetId, uint256 unit, bytes calldata signatures) external;
    function setPaused(bool paused_, bytes calldata signatures) external;
    function deposit(address token, uint256 amount, uint256 noteCommitment) external returns (uint64 index);
    /// Makes `withdrawals` claimable; only the settlement contract may call it.
    function release(uint64 batch, Withdrawal[] calldata withdrawals) external;
    function claim(Withdrawal calldata w) external;
    function settlement() external view returns (ISableSettlement);
    /// The token listed as Sable asset `assetId` (zero if none): a listing is one to one.
    function tokenOf(bytes32 assetId) external view returns (address);
    /// Deposits made so far (the next deposit's index).
    function depositCount() external view returns (uint64);
    function governanceNonce() external view returns (uint64);
    function paused() external view returns (bool);
    function claimable(bytes32 withdrawalHash) external view returns (bool);
    function released(bytes32 id) external view returns (bool);
}
