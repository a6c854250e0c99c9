// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SableSettlement} from "../../src/SableSettlement.sol";
import {SableBridge} from "../../src/SableBridge.sol";
import {Batch, Withdrawal} from "../../src/SableTypes.sol";
import {TestBase} from "./Vm.sol";
import {TestToken} from "./TestToken.sol";

/// A settlement contract with four validators (quorum 3), its bridge and one listed
/// token, plus helpers that build and sign batches the way validators do.
abstract contract Fixture is TestBase {
    bytes32 internal constant GENESIS = keccak256("sable-devnet");
    bytes32 internal constant USD_ASSET = keccak256("USD");
    /// The EIP-712 types as validators write them (the tests check the contract agrees).
    bytes32 internal constant BATCH_TYPEHASH = keccak256(
        "Batch(uint64 number,bytes32 parent,uint64 firstBlock,uint64 lastBlock,bytes32 commitmentRoot,"
        "bytes32 nullifierRoot,bytes32 dataHash,bytes32 withdrawalsHash,uint64 depositsConsumed,"
        "uint64 validatorSetId)"
    );
    bytes32 internal constant ROTATION_TYPEHASH = keccak256("Rotation(uint64 validatorSetId,address[] validators)");
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    SableSettlement internal settlement;
    SableBridge internal bridge;
    TestToken internal usd;
    /// Validator keys, ordered by address.
    uint256[] internal keys;

    function setUp() public virtual {
        keys = sortedKeys(4, 0xA11CE);
        settlement = new SableSettlement(GENESIS, addrs(keys));
        bridge = new SableBridge(settlement);
        settlement.bindBridge(bridge);
        usd = new TestToken("USD");
        listAsset(address(usd), USD_ASSET, 1);
    }

    /// `n` private keys from `seed` on, ordered by address.
    function sortedKeys(uint256 n, uint256 seed) internal pure returns (uint256[] memory ks) {
        ks = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            ks[i] = seed + i;
        }
        return sortByAddress(ks);
    }

    /// `ks` ordered by address (in place).
    function sortByAddress(uint256[] memory ks) internal pure returns (uint256[] memory) {
        for (uint256 i = 1; i < ks.length; ++i) {
            for (uint256 j = i; j > 0 && vm.addr(ks[j]) < vm.addr(ks[j - 1]); --j) {
                (ks[j], ks[j - 1]) = (ks[j - 1], ks[j]);
            }
        }
        return ks;
    }

    function addrs(uint256[] memory ks) internal pure returns (address[] memory a) {
        a = new address[](ks.length);
        for (uint256 i; i < ks.length; ++i) {
            a[i] = vm.addr(ks[i]);
        }
    }

    /// The first `count` of `ks`.
    function take(uint256[] memory ks, uint256 count) internal pure returns (uint256[] memory out) {
        out = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            out[i] = ks[i];
        }
    }

    /// The digest validators sign, computed here without calling the contract (so a
    /// signature can be made between `vm.expectRevert` and the call it expects).
    function digest(bytes32 structHash) internal view returns (bytes32) {
        bytes32 domain = keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("Sable Settlement"), keccak256("1"), block.chainid, address(settlement)
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function sig(uint256 key, bytes32 structHash) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest(structHash));
        return abi.encodePacked(r, s, v);
    }

    /// Packed signatures over `structHash` by `ks`, in the order given.
    function sign(uint256[] memory ks, bytes32 structHash) internal view returns (bytes memory out) {
        for (uint256 i; i < ks.length; ++i) {
            out = bytes.concat(out, sig(ks[i], structHash));
        }
    }

    function quorumSign(bytes32 structHash) internal view returns (bytes memory) {
        return sign(take(keys, 3), structHash);
    }

    function listAsset(address token, bytes32 assetId, uint256 unit) internal {
        bytes32 h = keccak256(
            abi.encode(bridge.LIST_TYPEHASH(), address(bridge), token, assetId, unit, bridge.governanceNonce())
        );
        bridge.listAsset(token, assetId, unit, quorumSign(h));
    }

    /// The fold of calldata-only published data (`SableSettlement.fold`).
    function foldData(bytes memory data) internal pure returns (bytes32) {
        return data.length == 0 ? bytes32(0) : keccak256(abi.encode(bytes32(0), keccak256(data)));
    }

    /// The next batch on top of the contract's state: `blocks` blocks, `data` as its
    /// published data.
    function nextBatch(uint64 blocks, bytes memory data, Withdrawal[] memory w) internal view returns (Batch memory b) {
        b.number = settlement.lastBatch() + 1;
        b.parent = settlement.lastBatchHash();
        b.firstBlock = settlement.lastBlock() + 1;
        b.lastBlock = b.firstBlock + blocks - 1;
        b.commitmentRoot = keccak256(abi.encode("cm", b.number));
        b.nullifierRoot = keccak256(abi.encode("nf", b.number));
        b.dataHash = foldData(data);
        b.withdrawalsHash = keccak256(abi.encode(w));
        b.depositsConsumed = settlement.depositsConsumed();
        b.validatorSetId = settlement.validatorSetId();
    }

    function noWithdrawals() internal pure returns (Withdrawal[] memory) {
        return new Withdrawal[](0);
    }

    function hashBatch(Batch memory b) internal pure returns (bytes32) {
        return keccak256(abi.encode(BATCH_TYPEHASH, b));
    }

    function rotationHash(uint64 setId, address[] memory set) internal pure returns (bytes32) {
        return keccak256(abi.encode(ROTATION_TYPEHASH, setId, keccak256(abi.encodePacked(set))));
    }

    /// Signs `b` by a quorum and submits it.
    function settle(Batch memory b, Withdrawal[] memory w, bytes memory data) internal {
        settlement.submitBatch(b, w, data, quorumSign(hashBatch(b)));
    }
}
