// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Withdrawal, ISableBridge, ISableSettlement} from "./SableTypes.sol";

/// @title Sable bridge vault
/// @notice Holds the allow-listed ERC-20 tokens bridged into Sable. A deposit locks
/// tokens and queues a shielded mint of the matching Sable asset for a note commitment
/// the depositor supplies; validators mint it and report the deposits consumed in the
/// next settled batch. Withdrawals are shielded burns naming an L1 recipient: a settled
/// batch releases them and anyone may then pay them out to their recipient. Listing
/// tokens and pausing take a quorum of the settlement contract's validators.
contract SableBridge is ISableBridge, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// The Pallas base field modulus: note commitments are canonical field elements.
    uint256 public constant PALLAS_P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001;

    bytes32 public constant PAUSE_TYPEHASH = keccak256("Pause(address bridge,bool paused,uint64 nonce)");
    bytes32 public constant LIST_TYPEHASH =
        keccak256("ListAsset(address bridge,address token,bytes32 assetId,uint256 unit,uint64 nonce)");

    /// A token's Sable asset and the number of token base units in one Sable unit (Sable
    /// values are 64-bit).
    struct Asset {
        bytes32 assetId;
        uint256 unit;
    }

    ISableSettlement public immutable settlement;
    mapping(address token => Asset) public assets;
    /// @inheritdoc ISableBridge
    mapping(bytes32 assetId => address token) public tokenOf;
    uint64 public depositCount;
    /// Consumed by each quorum-signed governance action (pause, listing).
    uint64 public governanceNonce;
    bool public paused;
    /// Released and not yet paid, by withdrawal hash.
    mapping(bytes32 withdrawalHash => bool) public claimable;
    /// Every withdrawal id ever released (a burn is released once).
    mapping(bytes32 id => bool) public released;

    modifier whenNotPaused() {
        if (paused) revert BridgePaused();
        _;
    }

    constructor(ISableSettlement settlement_) {
        settlement = settlement_;
    }

    /// Lists `token` as Sable asset `assetId`, `unit` base units per Sable unit, under a
    /// quorum of validator signatures over ListAsset(this, token, assetId, unit, nonce).
    /// Listings are permanent and one to one (no token twice, no asset id twice), so a
    /// withdrawal of an asset names exactly one token.
    function listAsset(address token, bytes32 assetId, uint256 unit, bytes calldata signatures) external {
        if (unit == 0) revert BadUnit();
        if (assets[token].unit != 0) revert AlreadyListed(token);
        address holder = tokenOf[assetId];
        if (holder != address(0)) revert AssetIdTaken(assetId, holder);
        uint64 nonce = governanceNonce;
        settlement.verifyQuorum(
            keccak256(abi.encode(LIST_TYPEHASH, address(this), token, assetId, unit, nonce)), signatures
        );
        governanceNonce = nonce + 1;
        assets[token] = Asset(assetId, unit);
        tokenOf[assetId] = token;
        emit AssetListed(token, assetId, unit);
    }

    /// Pauses or resumes deposits and payouts under a quorum of validator signatures
    /// over Pause(this, paused, nonce). Settlement goes on while paused.
    function setPaused(bool paused_, bytes calldata signatures) external {
        uint64 nonce = governanceNonce;
        settlement.verifyQuorum(keccak256(abi.encode(PAUSE_TYPEHASH, address(this), paused_, nonce)), signatures);
        governanceNonce = nonce + 1;
        paused = paused_;
        emit PausedSet(paused_, nonce);
    }

    /// Locks `amount` of `token` and queues a shielded mint of `amount / unit` of its
    /// Sable asset to the note `noteCommitment` (a canonical Pallas field element; the
    /// depositor later proves it opens to this asset and value). Returns the deposit's
    /// index in the queue.
    function deposit(address token, uint256 amount, uint256 noteCommitment)
        external
        nonReentrant
        whenNotPaused
        returns (uint64 index)
    {
        Asset memory asset = assets[token];
        if (asset.unit == 0) revert TokenNotListed(token);
        if (amount == 0) revert ZeroAmount();
        if (amount % asset.unit != 0) revert AmountNotMultipleOfUnit(amount, asset.unit);
        uint256 value = amount / asset.unit;
        if (value > type(uint64).max) revert ValueTooLarge(value);
        if (noteCommitment >= PALLAS_P) revert NonCanonicalCommitment(noteCommitment);
        IERC20 t = IERC20(token);
        uint256 before = t.balanceOf(address(this));
        t.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = t.balanceOf(address(this)) - before;
        if (received != amount) revert TransferShortfall(received, amount);
        index = depositCount;
        depositCount = index + 1;
        // forge-lint: disable-next-line(unsafe-typecast)
        emit Deposited(index, msg.sender, token, asset.assetId, amount, uint64(value), noteCommitment); // checked above
    }

    /// @inheritdoc ISableBridge
    function release(uint64 batch, Withdrawal[] calldata withdrawals) external {
        if (msg.sender != address(settlement)) revert NotSettlement();
        for (uint256 i; i < withdrawals.length; ++i) {
            Withdrawal calldata w = withdrawals[i];
            if (released[w.id]) revert WithdrawalAlreadyReleased(w.id);
            released[w.id] = true;
            claimable[keccak256(abi.encode(w))] = true;
            emit WithdrawalReleased(batch, w.id, w.token, w.recipient, w.amount);
        }
    }

    /// Pays a released withdrawal to its recipient (anyone may call it).
    function claim(Withdrawal calldata w) external nonReentrant whenNotPaused {
        bytes32 h = keccak256(abi.encode(w));
        if (!claimable[h]) revert NotClaimable(w.id);
        if (assets[w.token].unit == 0) revert TokenNotListed(w.token);
        delete claimable[h];
        IERC20(w.token).safeTransfer(w.recipient, w.amount);
        emit WithdrawalPaid(w.id, w.recipient, w.token, w.amount);
    }
}
