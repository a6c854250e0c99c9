// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SableSettlement} from "../src/SableSettlement.sol";
import {SableBridge} from "../src/SableBridge.sol";
import {Batch, Withdrawal, ISableBridge, ISableSettlement} from "../src/SableTypes.sol";
import {Fixture} from "./utils/Fixture.sol";

contract SableSettlementTest is Fixture {
    bytes internal constant DATA = hex"5ab1e0000000000000000000000000000000000000000000000000000000da7a";

    function test_settlesBatchesInOrder() public {
        Batch memory b1 = nextBatch(10, DATA, noWithdrawals());
        settle(b1, noWithdrawals(), DATA);
        Batch memory b2 = nextBatch(5, DATA, noWithdrawals());
        vm.assertEq(b2.parent, hashBatch(b1), "batch 2 builds on batch 1");
        settle(b2, noWithdrawals(), DATA);
        vm.assertEq(settlement.lastBatch(), 2, "last batch");
        vm.assertEq(settlement.lastBlock(), 15, "last block");
        vm.assertEq(settlement.commitmentRoot(), b2.commitmentRoot, "commitment root");
        vm.assertEq(settlement.nullifierRoot(), b2.nullifierRoot, "nullifier root");
        vm.assertEq(settlement.batchHash(1), hashBatch(b1), "batch 1 hash");
        vm.assertEq(settlement.lastBatchHash(), hashBatch(b2), "batch 2 hash");
        vm.assertEq(settlement.hashBatch(b2), hashBatch(b2), "the contract hashes as validators do");
        vm.assertEq(settlement.BATCH_TYPEHASH(), BATCH_TYPEHASH, "batch type");
        vm.assertEq(settlement.ROTATION_TYPEHASH(), ROTATION_TYPEHASH, "rotation type");
        vm.assertEq(settlement.digest(bytes32(uint256(7))), digest(bytes32(uint256(7))), "EIP-712 domain");
    }

    function test_quorumIsTwoFPlusOne() public {
        vm.assertEq(settlement.quorum(), 3, "n = 4");
        uint256[4] memory n = [uint256(1), 3, 7, 10];
        uint256[4] memory q = [uint256(1), 3, 5, 7];
        for (uint256 i; i < 4; ++i) {
            SableSettlement s = new SableSettlement(GENESIS, addrs(sortedKeys(n[i], 1)));
            vm.assertEq(s.quorum(), q[i], "quorum");
        }
    }

    function test_rejectsBatchWithoutQuorum() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        bytes memory two = sign(take(keys, 2), hashBatch(b));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NoQuorum.selector, 2, 3));
        settlement.submitBatch(b, noWithdrawals(), DATA, two);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NoQuorum.selector, 0, 3));
        settlement.submitBatch(b, noWithdrawals(), DATA, "");
    }

    function test_rejectsForeignSigner() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        uint256[] memory signers = take(keys, 3);
        signers[2] = 0xBAD;
        // Keep the signers ascending so the membership check is what refuses it.
        signers = sortByAddress(signers);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NotValidator.selector, vm.addr(0xBAD)));
        settlement.submitBatch(b, noWithdrawals(), DATA, sign(signers, hashBatch(b)));
    }

    function test_rejectsDuplicateAndUnorderedSigners() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        bytes32 h = hashBatch(b);
        bytes memory dup = bytes.concat(sig(keys[0], h), sig(keys[1], h), sig(keys[1], h));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.SignersNotAscending.selector, 2));
        settlement.submitBatch(b, noWithdrawals(), DATA, dup);
        bytes memory unordered = bytes.concat(sig(keys[1], h), sig(keys[0], h), sig(keys[2], h));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.SignersNotAscending.selector, 1));
        settlement.submitBatch(b, noWithdrawals(), DATA, unordered);
    }

    function test_rejectsMalformedSignatures() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        bytes memory sigs = quorumSign(hashBatch(b));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.BadSignatureLength.selector, 196));
        settlement.submitBatch(b, noWithdrawals(), DATA, bytes.concat(sigs, hex"00"));
        // The same signature with the high-s twin (malleable) is refused.
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[0], settlement.digest(hashBatch(b)));
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory twin = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.InvalidSignature.selector, 0));
        settlement.submitBatch(b, noWithdrawals(), DATA, bytes.concat(twin, sig(keys[1], hashBatch(b))));
    }

    function test_rejectsReplay() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        settle(b, noWithdrawals(), DATA);
        bytes memory sigs = quorumSign(hashBatch(b));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.BatchAlreadySettled.selector, 1));
        settlement.submitBatch(b, noWithdrawals(), DATA, sigs);
    }

    function test_rejectsGapAndOutOfOrder() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        b.number = 2;
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.BatchGap.selector, 2, 1));
        settle(b, noWithdrawals(), DATA);
    }

    function test_rejectsFork() public {
        Batch memory b1 = nextBatch(1, DATA, noWithdrawals());
        settle(b1, noWithdrawals(), DATA);
        Batch memory fork = nextBatch(1, DATA, noWithdrawals());
        fork.parent = keccak256("another batch 1");
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.ParentMismatch.selector, fork.parent, hashBatch(b1)));
        settle(fork, noWithdrawals(), DATA);
    }

    function test_rejectsBadBlockRanges() public {
        Batch memory b = nextBatch(3, DATA, noWithdrawals());
        b.firstBlock = 2; // skips block 1
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.BadBlockRange.selector, 2, 3, 1));
        settle(b, noWithdrawals(), DATA);
        b = nextBatch(3, DATA, noWithdrawals());
        b.lastBlock = 0; // empty range
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.BadBlockRange.selector, 1, 0, 1));
        settle(b, noWithdrawals(), DATA);
    }

    function test_rejectsDepositsConsumedOutOfBounds() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        b.depositsConsumed = 1; // nothing deposited yet
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.BadDepositsConsumed.selector, 1, 0, 0));
        settle(b, noWithdrawals(), DATA);
    }

    function test_rejectsDataOrWithdrawalsNotAsSigned() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        bytes memory sigs = quorumSign(hashBatch(b));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.DataMismatch.selector, b.dataHash, foldData(hex"00")));
        settlement.submitBatch(b, noWithdrawals(), hex"00", sigs);
        Withdrawal[] memory w = new Withdrawal[](1);
        w[0] = Withdrawal(bytes32(uint256(1)), address(usd), address(0xB0B), 1);
        vm.expectRevert(ISableSettlement.WithdrawalsMismatch.selector);
        settlement.submitBatch(b, w, DATA, sigs);
    }

    function test_publishedChunksAndBlobsFold() public {
        Batch memory b = nextBatch(1, "", noWithdrawals());
        bytes32[] memory blobs = new bytes32[](2);
        blobs[0] = bytes32(uint256(0x01) << 248 | 1);
        blobs[1] = bytes32(uint256(0x01) << 248 | 2);
        // Chunk 1 as calldata, then two blobs, then the last chunk with the batch.
        bytes32 acc = keccak256(abi.encode(bytes32(0), keccak256("chunk 1")));
        acc = keccak256(abi.encode(acc, blobs[0]));
        acc = keccak256(abi.encode(acc, blobs[1]));
        bytes32 beforeLast = acc;
        acc = keccak256(abi.encode(acc, keccak256("chunk 3")));
        b.dataHash = acc;

        // A stale attempt, discarded by `restart`.
        settlement.publish(1, false, "stale");
        settlement.publish(1, true, "chunk 1");
        vm.blobhashes(blobs);
        settlement.publish(1, false, "");
        vm.blobhashes(new bytes32[](0));
        vm.assertEq(settlement.published(address(this), 1), beforeLast, "chunk 1 and two blobs folded");
        settle(b, noWithdrawals(), "chunk 3");
        vm.assertEq(settlement.published(address(this), 1), bytes32(0), "the fold is cleared");
        vm.assertEq(settlement.lastBatch(), 1, "settled");
    }

    function test_anotherPublishersDataDoesNotCount() public {
        Batch memory b = nextBatch(1, "", noWithdrawals());
        b.dataHash = foldData("all of it");
        vm.prank(address(0xE11E));
        settlement.publish(1, true, "all of it");
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.DataMismatch.selector, b.dataHash, bytes32(0)));
        settle(b, noWithdrawals(), "");
    }

    function test_rotationByQuorum() public {
        uint256[] memory next = sortedKeys(5, 0xB0B);
        bytes32 h = rotationHash(1, addrs(next));
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NoQuorum.selector, 2, 3));
        settlement.rotateValidators(addrs(next), sign(take(keys, 2), h));
        settlement.rotateValidators(addrs(next), quorumSign(h));
        vm.assertEq(settlement.validatorSetId(), 1, "set id");
        vm.assertEq(settlement.quorum(), 4, "quorum of 5");
        vm.assertFalse(settlement.isValidator(vm.addr(keys[0])), "old validator removed");
        vm.assertTrue(settlement.isValidator(vm.addr(next[0])), "new validator");

        // The old set's batch is stale; the old keys over a batch for the new set are
        // not validators any more.
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        Batch memory stale = nextBatch(1, DATA, noWithdrawals());
        stale.validatorSetId = 0;
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.StaleValidatorSet.selector, 0, 1));
        settle(stale, noWithdrawals(), DATA);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NotValidator.selector, vm.addr(keys[0])));
        settle(b, noWithdrawals(), DATA);
        settlement.submitBatch(b, noWithdrawals(), DATA, sign(take(next, 4), hashBatch(b)));
        vm.assertEq(settlement.lastBatch(), 1, "settled by the new set");

        // A rotation's signatures cannot be replayed: the next rotation names set 2.
        vm.expectRevert();
        settlement.rotateValidators(addrs(next), quorumSign(h));
    }

    function test_rotationRefusesBadSets() public {
        address[] memory empty;
        vm.expectRevert(ISableSettlement.EmptyValidatorSet.selector);
        settlement.rotateValidators(empty, quorumSign(rotationHash(1, empty)));
        address[] memory dup = new address[](2);
        dup[0] = address(0x1);
        dup[1] = address(0x1);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.ValidatorsNotAscending.selector, 1));
        settlement.rotateValidators(dup, quorumSign(rotationHash(1, dup)));
        address[] memory zero = new address[](1);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.ValidatorsNotAscending.selector, 0));
        settlement.rotateValidators(zero, quorumSign(rotationHash(1, zero)));
    }

    function test_signaturesBoundToChainAndContract() public {
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        bytes memory sigs = quorumSign(hashBatch(b));
        // The same validators on another settlement contract: the signatures recover to
        // other addresses there.
        SableSettlement other = new SableSettlement(GENESIS, addrs(keys));
        other.bindBridge(new SableBridge(other));
        vm.expectRevert();
        other.submitBatch(b, noWithdrawals(), DATA, sigs);
        // Another chain id.
        vm.chainId(31338);
        vm.expectRevert();
        settlement.submitBatch(b, noWithdrawals(), DATA, sigs);
        vm.chainId(31337);
        settlement.submitBatch(b, noWithdrawals(), DATA, sigs);
    }

    function test_bridgeBindsOnceByDeployer() public {
        vm.expectRevert(ISableSettlement.BridgeAlreadyBound.selector);
        settlement.bindBridge(bridge);
        SableSettlement fresh = new SableSettlement(GENESIS, addrs(keys));
        vm.prank(address(0xE11E));
        vm.expectRevert(ISableSettlement.NotDeployer.selector);
        fresh.bindBridge(bridge);
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        vm.expectRevert(ISableSettlement.BridgeNotBound.selector);
        fresh.submitBatch(b, noWithdrawals(), DATA, "");
    }

    /// Any subset of the validators settles exactly when it holds a quorum.
    function testFuzz_quorumSubsets(uint8 mask) public {
        mask = mask & 0x0f;
        uint256 count;
        for (uint256 i; i < 4; ++i) {
            if ((mask >> i) & 1 == 1) count++;
        }
        uint256[] memory signers = new uint256[](count);
        uint256 j;
        for (uint256 i; i < 4; ++i) {
            if ((mask >> i) & 1 == 1) signers[j++] = keys[i];
        }
        Batch memory b = nextBatch(1, DATA, noWithdrawals());
        bytes memory sigs = sign(signers, hashBatch(b));
        if (count < 3) {
            vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NoQuorum.selector, count, 3));
        }
        settlement.submitBatch(b, noWithdrawals(), DATA, sigs);
        vm.assertEq(settlement.lastBatch(), count >= 3 ? 1 : 0, "settled iff quorum");
    }

    /// Changing any signed field after signing makes the signatures recover to
    /// non-validators (or trips the field's own check): nothing settles.
    function testFuzz_tamperedBatchRejected(uint8 field, uint256 delta) public {
        delta = bound(delta, 1, type(uint64).max);
        Batch memory b = nextBatch(4, DATA, noWithdrawals());
        bytes memory sigs = quorumSign(hashBatch(b));
        field = field % 4;
        if (field == 0) b.commitmentRoot = bytes32(uint256(b.commitmentRoot) ^ delta);
        if (field == 1) b.nullifierRoot = bytes32(uint256(b.nullifierRoot) ^ delta);
        // forge-lint: disable-next-line(unsafe-typecast)
        if (field == 2) b.lastBlock = b.lastBlock + uint64(delta % 1000) + 1; // < 1000 fits
        if (field == 3) b.withdrawalsHash = bytes32(uint256(b.withdrawalsHash) ^ delta);
        vm.expectRevert();
        settlement.submitBatch(b, noWithdrawals(), DATA, sigs);
        vm.assertEq(settlement.lastBatch(), 0, "nothing settled");
    }

    /// Every batch settles on top of the last, whatever the block counts.
    function testFuzz_chainOfBatches(uint64[4] memory blocks) public {
        uint64 total;
        for (uint256 i; i < 4; ++i) {
            uint64 n = uint64(bound(blocks[i], 1, 1_000_000));
            total += n;
            settle(nextBatch(n, DATA, noWithdrawals()), noWithdrawals(), DATA);
        }
        vm.assertEq(settlement.lastBlock(), total, "contiguous ranges");
        vm.assertEq(settlement.lastBatch(), 4, "four batches");
    }
}
