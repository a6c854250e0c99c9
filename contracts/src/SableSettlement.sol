// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {Batch, Withdrawal, ISableBridge, ISableSettlement} from "./SableTypes.sol";

/// @title Sable settlement
/// @notice Anchors the Sable chain on Ethereum. Each batch carries the commitment-tree
/// root, the nullifier-set root, the fold of its published public data (proofs
/// included, as calldata or blobs), the withdrawals it releases and the deposits it
/// consumed, and is accepted only in order, on top of the last batch, under signatures
/// from a quorum (2f+1 of n = 3f+1) of the current validator set. The set rotates only
/// by a quorum of itself.
/// @dev Proofs are not verified here (Pasta proofs have no precompile); anyone can
/// re-verify every batch from the published data. The interface leaves room for a
/// succinct proof beside the signatures later.
contract SableSettlement is EIP712, ISableSettlement {
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "Batch(uint64 number,bytes32 parent,uint64 firstBlock,uint64 lastBlock,bytes32 commitmentRoot,"
        "bytes32 nullifierRoot,bytes32 dataHash,bytes32 withdrawalsHash,uint64 depositsConsumed,"
        "uint64 validatorSetId)"
    );
    bytes32 public constant ROTATION_TYPEHASH = keccak256("Rotation(uint64 validatorSetId,address[] validators)");

    /// The parent of batch 1: identifies the Sable chain this contract settles.
    bytes32 public immutable genesis;
    address private immutable deployer;

    uint64 public validatorSetId;
    /// The number of the last settled batch (0 before the first).
    uint64 public lastBatch;
    /// The last Sable block settled.
    uint64 public lastBlock;
    uint64 public depositsConsumed;
    bytes32 public lastBatchHash;
    bytes32 public commitmentRoot;
    bytes32 public nullifierRoot;
    ISableBridge public bridge;

    /// The struct hash of every settled batch.
    mapping(uint64 number => bytes32 hash) public batchHash;
    /// Data folded so far by each publisher for a batch number (see `publish`).
    mapping(address publisher => mapping(uint64 number => bytes32 fold)) public published;

    address[] private validators;
    /// validatorSetId + 1 of the set an address last joined (0: never a validator).
    mapping(address validator => uint64 setPlusOne) private memberOf;

    constructor(bytes32 genesis_, address[] memory validators_) EIP712("Sable Settlement", "1") {
        genesis = genesis_;
        deployer = msg.sender;
        lastBatchHash = genesis_;
        _setValidators(validators_);
    }

    /// Binds the bridge whose withdrawals batches release: once, by the deployer,
    /// before the first batch.
    function bindBridge(ISableBridge bridge_) external {
        if (msg.sender != deployer) revert NotDeployer();
        if (address(bridge) != address(0) || lastBatch != 0) revert BridgeAlreadyBound();
        bridge = bridge_;
        emit BridgeBound(address(bridge_));
    }

    function getValidators() external view returns (address[] memory) {
        return validators;
    }

    function isValidator(address who) public view returns (bool) {
        return memberOf[who] == validatorSetId + 1;
    }

    /// 2f+1 where n = 3f+1 (n - f for any n).
    function quorum() public view returns (uint256) {
        uint256 n = validators.length;
        return n - (n - 1) / 3;
    }

    /// The EIP-712 struct hash of a batch: its identity and the next batch's parent.
    function hashBatch(Batch calldata b) public pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, b));
    }

    /// The digest validators sign for `structHash` (bound to this chain and contract).
    function digest(bytes32 structHash) public view returns (bytes32) {
        return _hashTypedDataV4(structHash);
    }

    /// The fold of published data: starting from `fold`, each calldata chunk adds its
    /// keccak256 and each blob of the transaction its versioned hash, in order.
    function fold(bytes32 acc, bytes calldata chunk) public view returns (bytes32, uint256 blobs) {
        if (chunk.length != 0) acc = keccak256(abi.encode(acc, keccak256(chunk)));
        while (true) {
            bytes32 h = blobhash(blobs);
            if (h == bytes32(0)) break;
            acc = keccak256(abi.encode(acc, h));
            blobs++;
        }
        return (acc, blobs);
    }

    /// Publishes part of batch `number`'s public data ahead of `submitBatch`: `chunk`
    /// as calldata and any blobs this transaction carries. `restart` discards what this
    /// sender published for `number` before (a resubmission after a reorg or a crash).
    function publish(uint64 number, bool restart, bytes calldata chunk) external {
        bytes32 acc = restart ? bytes32(0) : published[msg.sender][number];
        uint256 blobs;
        (acc, blobs) = fold(acc, chunk);
        published[msg.sender][number] = acc;
        emit DataPublished(number, msg.sender, acc, blobs);
    }

    /// Settles batch `b`. `data` and any blobs this transaction carries complete what the
    /// sender published for it; `signatures` are 65-byte (r, s, v) signatures over
    /// `digest(hashBatch(b))` by a quorum of the current set, signers in ascending order.
    function submitBatch(
        Batch calldata b,
        Withdrawal[] calldata withdrawals,
        bytes calldata data,
        bytes calldata signatures
    ) external {
        ISableBridge bridge_ = bridge;
        if (address(bridge_) == address(0)) revert BridgeNotBound();
        if (b.validatorSetId != validatorSetId) revert StaleValidatorSet(b.validatorSetId, validatorSetId);
        uint64 expected = lastBatch + 1;
        if (b.number < expected) revert BatchAlreadySettled(b.number);
        if (b.number > expected) revert BatchGap(b.number, expected);
        if (b.parent != lastBatchHash) revert ParentMismatch(b.parent, lastBatchHash);
        if (b.firstBlock != lastBlock + 1 || b.lastBlock < b.firstBlock) {
            revert BadBlockRange(b.firstBlock, b.lastBlock, lastBlock + 1);
        }
        uint64 deposits = bridge_.depositCount();
        if (b.depositsConsumed < depositsConsumed || b.depositsConsumed > deposits) {
            revert BadDepositsConsumed(b.depositsConsumed, depositsConsumed, deposits);
        }
        if (keccak256(abi.encode(withdrawals)) != b.withdrawalsHash) revert WithdrawalsMismatch();
        (bytes32 acc,) = fold(published[msg.sender][b.number], data);
        if (acc != b.dataHash) revert DataMismatch(b.dataHash, acc);

        bytes32 hash = hashBatch(b);
        verifyQuorum(hash, signatures);

        delete published[msg.sender][b.number];
        lastBatch = b.number;
        lastBlock = b.lastBlock;
        depositsConsumed = b.depositsConsumed;
        lastBatchHash = hash;
        commitmentRoot = b.commitmentRoot;
        nullifierRoot = b.nullifierRoot;
        batchHash[b.number] = hash;
        emit BatchSettled(b.number, hash, b, withdrawals.length);
        if (withdrawals.length != 0) bridge_.release(b.number, withdrawals);
    }

    /// Replaces the validator set, signed by a quorum of the current one over
    /// Rotation(validatorSetId + 1, newValidators). Batches signed for the old set are
    /// refused from then on.
    function rotateValidators(address[] calldata newValidators, bytes calldata signatures) external {
        uint64 next = validatorSetId + 1;
        bytes32 structHash = keccak256(abi.encode(ROTATION_TYPEHASH, next, keccak256(abi.encodePacked(newValidators))));
        verifyQuorum(structHash, signatures);
        validatorSetId = next;
        _setValidators(newValidators);
    }

    /// @inheritdoc ISableSettlement
    function verifyQuorum(bytes32 structHash, bytes calldata signatures) public view {
        if (signatures.length % 65 != 0) revert BadSignatureLength(signatures.length);
        bytes32 d = _hashTypedDataV4(structHash);
        uint256 count = signatures.length / 65;
        uint64 member = validatorSetId + 1;
        address previous;
        for (uint256 i; i < count; ++i) {
            bytes calldata sig = signatures[i * 65:(i + 1) * 65];
            (address signer, ECDSA.RecoverError err,) =
                ECDSA.tryRecover(d, uint8(sig[64]), bytes32(sig[0:32]), bytes32(sig[32:64]));
            if (err != ECDSA.RecoverError.NoError) revert InvalidSignature(i);
            if (signer <= previous) revert SignersNotAscending(i);
            if (memberOf[signer] != member) revert NotValidator(signer);
            previous = signer;
        }
        uint256 q = quorum();
        if (count < q) revert NoQuorum(count, q);
    }

    /// Ascending addresses: no duplicates, no zero address.
    function _setValidators(address[] memory set) private {
        if (set.length == 0) revert EmptyValidatorSet();
        uint64 member = validatorSetId + 1;
        address previous;
        for (uint256 i; i < set.length; ++i) {
            if (set[i] <= previous) revert ValidatorsNotAscending(i);
            memberOf[set[i]] = member;
            previous = set[i];
        }
        validators = set;
        emit ValidatorSetRotated(validatorSetId, set, quorum());
    }
}
