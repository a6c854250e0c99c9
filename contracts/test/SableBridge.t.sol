// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SableSettlement} from "../src/SableSettlement.sol";
import {SableBridge} from "../src/SableBridge.sol";
import {Batch, Withdrawal, ISableBridge, ISableSettlement} from "../src/SableTypes.sol";
import {Fixture} from "./utils/Fixture.sol";
import {FeeToken, IReenter, ReentrantToken, TestToken} from "./utils/TestToken.sol";

contract SableBridgeTest is Fixture, IReenter {
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    uint256 internal constant NOTE = 0x1234;
    uint256 internal constant PALLAS_P = 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001;
    /// A second Sable asset id for listing tests: a string literal converts to bytes32
    /// implicitly (left-aligned, zero-padded), so no explicit cast is needed.
    bytes32 internal constant OTHER_ASSET = "o";

    function setUp() public override {
        super.setUp();
        usd.mint(ALICE, 1_000_000);
        vm.prank(ALICE);
        usd.approve(address(bridge), type(uint256).max);
    }

    function depositAs(address who, address token, uint256 amount) internal returns (uint64) {
        vm.prank(who);
        return bridge.deposit(token, amount, NOTE);
    }

    /// Settles the next batch releasing `w` and consuming every deposit so far.
    function settleReleasing(Withdrawal[] memory w) internal {
        Batch memory b = nextBatch(1, "", w);
        b.depositsConsumed = bridge.depositCount();
        settle(b, w, "");
    }

    function one(bytes32 id, address recipient, uint256 amount) internal view returns (Withdrawal[] memory w) {
        w = new Withdrawal[](1);
        w[0] = Withdrawal(id, address(usd), recipient, amount);
    }

    function test_depositLocksTokensAndQueuesAMint() public {
        vm.assertEq(depositAs(ALICE, address(usd), 700), 0, "first index");
        vm.assertEq(depositAs(ALICE, address(usd), 300), 1, "second index");
        vm.assertEq(bridge.depositCount(), 2, "queued");
        vm.assertEq(usd.balanceOf(address(bridge)), 1000, "locked");
        vm.assertEq(usd.balanceOf(ALICE), 999_000, "paid");
    }

    function test_depositRejections() public {
        TestToken other = new TestToken("OTHER");
        vm.startPrank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.TokenNotListed.selector, address(other)));
        bridge.deposit(address(other), 1, NOTE);
        vm.expectRevert(ISableBridge.ZeroAmount.selector);
        bridge.deposit(address(usd), 0, NOTE);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.NonCanonicalCommitment.selector, PALLAS_P));
        bridge.deposit(address(usd), 1, PALLAS_P);
        vm.stopPrank();
        vm.assertEq(bridge.depositCount(), 0, "nothing queued");
    }

    function test_depositUnitsAndRange() public {
        TestToken eth = new TestToken("WETH");
        listAsset(address(eth), keccak256("WETH"), 1e12);
        eth.mint(ALICE, type(uint256).max);
        vm.startPrank(ALICE);
        eth.approve(address(bridge), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.AmountNotMultipleOfUnit.selector, 1e12 + 1, 1e12));
        bridge.deposit(address(eth), 1e12 + 1, NOTE);
        uint256 tooMuch = (uint256(type(uint64).max) + 1) * 1e12;
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.ValueTooLarge.selector, uint256(type(uint64).max) + 1));
        bridge.deposit(address(eth), tooMuch, NOTE);
        bridge.deposit(address(eth), 5e12, NOTE);
        vm.stopPrank();
        vm.assertEq(eth.balanceOf(address(bridge)), 5e12, "locked");
    }

    function test_feeOnTransferTokenRefused() public {
        FeeToken fee = new FeeToken();
        listAsset(address(fee), keccak256("FEE"), 1);
        fee.mint(ALICE, 1000);
        vm.prank(ALICE);
        fee.approve(address(bridge), 1000);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.TransferShortfall.selector, 990, 1000));
        bridge.deposit(address(fee), 1000, NOTE);
    }

    function test_listingTakesAQuorumOnce() public {
        TestToken other = new TestToken("OTHER");
        bytes32 h = keccak256(
            abi.encode(
                bridge.LIST_TYPEHASH(), address(bridge), address(other), OTHER_ASSET, 1, bridge.governanceNonce()
            )
        );
        bytes memory two = sign(take(keys, 2), h);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NoQuorum.selector, 2, 3));
        bridge.listAsset(address(other), OTHER_ASSET, 1, two);
        bytes memory three = quorumSign(h);
        bridge.listAsset(address(other), OTHER_ASSET, 1, three);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.AlreadyListed.selector, address(other)));
        bridge.listAsset(address(other), OTHER_ASSET, 1, three);
        vm.assertEq(bridge.tokenOf(OTHER_ASSET), address(other), "one token per asset");
        // A second token cannot take the same Sable asset, even under a quorum.
        TestToken third = new TestToken("THIRD");
        bytes32 h3 = keccak256(
            abi.encode(
                bridge.LIST_TYPEHASH(), address(bridge), address(third), OTHER_ASSET, 1, bridge.governanceNonce()
            )
        );
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.AssetIdTaken.selector, OTHER_ASSET, address(other)));
        bridge.listAsset(address(third), OTHER_ASSET, 1, quorumSign(h3));
    }

    function test_withdrawalPaidOnlyAfterRelease() public {
        depositAs(ALICE, address(usd), 1000);
        Withdrawal[] memory w = one(keccak256("burn 1"), BOB, 400);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.NotClaimable.selector, w[0].id));
        bridge.claim(w[0]);

        settleReleasing(w);
        vm.assertEq(settlement.depositsConsumed(), 1, "deposit consumed");
        // A tampered claim (more than released) is refused; the released one pays once.
        Withdrawal memory more = Withdrawal(w[0].id, w[0].token, w[0].recipient, 401);
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.NotClaimable.selector, w[0].id));
        bridge.claim(more);
        bridge.claim(w[0]);
        vm.assertEq(usd.balanceOf(BOB), 400, "recipient paid");
        vm.assertEq(usd.balanceOf(address(bridge)), 600, "rest locked");
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.NotClaimable.selector, w[0].id));
        bridge.claim(w[0]);
    }

    function test_aBurnIsReleasedOnce() public {
        depositAs(ALICE, address(usd), 1000);
        Withdrawal[] memory w = one(keccak256("burn 1"), BOB, 400);
        settleReleasing(w);
        Batch memory b = nextBatch(1, "", w);
        bytes memory sigs = quorumSign(hashBatch(b));
        vm.expectRevert(abi.encodeWithSelector(ISableBridge.WithdrawalAlreadyReleased.selector, w[0].id));
        settlement.submitBatch(b, w, "", sigs);
        vm.assertEq(settlement.lastBatch(), 1, "the batch did not settle");
    }

    function test_onlySettlementReleases() public {
        Withdrawal[] memory w = one(keccak256("burn"), BOB, 1);
        vm.expectRevert(ISableBridge.NotSettlement.selector);
        bridge.release(1, w);
    }

    function test_pauseByQuorum() public {
        bytes32 h = keccak256(abi.encode(bridge.PAUSE_TYPEHASH(), address(bridge), true, bridge.governanceNonce()));
        bytes memory two = sign(take(keys, 2), h);
        vm.expectRevert(abi.encodeWithSelector(ISableSettlement.NoQuorum.selector, 2, 3));
        bridge.setPaused(true, two);
        bytes memory sigs = quorumSign(h);
        bridge.setPaused(true, sigs);
        vm.assertTrue(bridge.paused(), "paused");

        vm.prank(ALICE);
        vm.expectRevert(ISableBridge.BridgePaused.selector);
        bridge.deposit(address(usd), 1, NOTE);
        // Settlement goes on while paused; payouts wait.
        Withdrawal[] memory w = one(keccak256("burn"), BOB, 0);
        settleReleasing(w);
        vm.expectRevert(ISableBridge.BridgePaused.selector);
        bridge.claim(w[0]);

        // The pause signatures cannot be replayed (the nonce moved on).
        vm.expectRevert();
        bridge.setPaused(true, sigs);
        bytes32 resume =
            keccak256(abi.encode(bridge.PAUSE_TYPEHASH(), address(bridge), false, bridge.governanceNonce()));
        bridge.setPaused(false, quorumSign(resume));
        bridge.claim(w[0]);
    }

    /// A token that calls back into the bridge mid-transfer is stopped by the guard.
    function test_noReentrancy() public {
        ReentrantToken re = new ReentrantToken();
        listAsset(address(re), keccak256("RE"), 1);
        re.mint(address(this), 100);
        re.approve(address(bridge), type(uint256).max);
        re.setHook(this);
        vm.expectRevert(); // ReentrancyGuardReentrantCall, bubbled through the token
        bridge.deposit(address(re), 10, NOTE);
        vm.assertEq(bridge.depositCount(), 0, "nothing queued");
    }

    function reenter() external {
        bridge.deposit(msg.sender, 1, NOTE);
    }

    /// Deposits and released withdrawals conserve the locked balance.
    function testFuzz_depositWithdrawConserves(uint96 depositAmount, uint96 withdrawAmount) public {
        uint256 d = bound(depositAmount, 1, 1_000_000);
        uint256 w = bound(withdrawAmount, 0, d);
        depositAs(ALICE, address(usd), d);
        Withdrawal[] memory out = one(keccak256(abi.encode(d, w)), BOB, w);
        settleReleasing(out);
        bridge.claim(out[0]);
        vm.assertEq(usd.balanceOf(address(bridge)), d - w, "locked");
        vm.assertEq(usd.balanceOf(BOB), w, "paid");
        vm.assertEq(usd.balanceOf(ALICE) + usd.balanceOf(address(bridge)) + usd.balanceOf(BOB), 1_000_000, "supply");
    }

    /// Any commitment at or above the Pallas modulus is refused; any below accepted.
    function testFuzz_commitmentCanonical(uint256 cm) public {
        vm.prank(ALICE);
        if (cm >= PALLAS_P) {
            vm.expectRevert(abi.encodeWithSelector(ISableBridge.NonCanonicalCommitment.selector, cm));
        }
        bridge.deposit(address(usd), 1, cm);
    }
}
