// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {RoyaltyDistributor} from "../RoyaltyDistributor.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {CheatCodes} from "./Vm.sol";
import {SettlementTokenForTests, FeeOnTransferTokenForTests} from "./SettlementTokenForTests.sol";

contract RoyaltyDistributorTest is CheatCodes {
    RoyaltyDistributor internal distributor;
    SettlementTokenForTests internal token;
    address internal constant ACCOUNTANT = address(0xACC0);
    address internal constant ALICE = address(0xA11CE);
    address internal constant ALICE_PAYOUT = address(0xA11CE2);
    address internal constant BOB = address(0xB0B);
    uint64 internal nextPeriod = 1;

    function setUp() public {
        distributor = new RoyaltyDistributor(address(this), address(new LedgerForwarder()));
        distributor.grantRole(distributor.ACCOUNTANT_ROLE(), ACCOUNTANT);
        token = new SettlementTokenForTests(ACCOUNTANT);
        vm.prank(ACCOUNTANT);
        token.approve(address(distributor), type(uint256).max);
        vm.roll(100);
    }

    function _leaf(uint256 index, address account, address payout, uint256 amount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, account, payout, amount))));
    }

    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// A statement of a period no other test statement has (each period is published once per sequence).
    function _statement(bytes32 root, uint256 total) internal returns (RoyaltyDistributor.Statement memory s) {
        s = _statementOf(nextPeriod, 0, 50, root, total);
        nextPeriod += 2;
    }

    function _statementOf(uint64 periodStart, uint32 sequence, uint64 anchorsUpTo, bytes32 root, uint256 total)
        internal
        pure
        returns (RoyaltyDistributor.Statement memory)
    {
        return RoyaltyDistributor.Statement({
            periodStart: periodStart, periodEnd: periodStart + 1, currency: "USD", sequence: sequence, anchorsUpTo: anchorsUpTo,
            entryCount: 2, total: total, root: root, documentCid: "bafy"
        });
    }

    function _proof(bytes32 sibling) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](1);
        proof[0] = sibling;
    }

    function testFuzzTokenStatementPaysEachEntryOnceToItsPayout(uint64 a, uint64 b, address relayer) public {
        vm.assume(relayer != address(0));
        bytes32 l0 = _leaf(0, ALICE, ALICE_PAYOUT, a);
        bytes32 l1 = _leaf(1, BOB, BOB, b);
        uint256 total = uint256(a) + b;
        vm.prank(ACCOUNTANT);
        distributor.publish(keccak256("s1"), _statement(_pair(l0, l1), total), address(token), 1e4);
        require(token.balanceOf(address(distributor)) == total * 1e4, "funded in full");

        vm.prank(relayer); // anyone may submit; the tokens go to the payout address
        distributor.claim(keccak256("s1"), 0, ALICE, ALICE_PAYOUT, a, _proof(l1));
        require(token.balanceOf(ALICE_PAYOUT) == uint256(a) * 1e4 && token.balanceOf(ALICE) == 0, "paid to payout");
        require(distributor.isClaimed(keccak256("s1"), 0) && !distributor.isClaimed(keccak256("s1"), 1), "bitmap");

        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.AlreadyClaimed.selector, keccak256("s1"), 0));
        distributor.claim(keccak256("s1"), 0, ALICE, ALICE_PAYOUT, a, _proof(l1));
        vm.expectRevert(RoyaltyDistributor.InvalidProof.selector);
        distributor.claim(keccak256("s1"), 1, BOB, BOB, uint256(b) + 1, _proof(l0));
        vm.expectRevert(RoyaltyDistributor.InvalidProof.selector);
        distributor.claim(keccak256("s1"), 1, BOB, relayer == BOB ? ALICE : relayer, b, _proof(l0)); // payout is committed

        distributor.claim(keccak256("s1"), 1, BOB, BOB, b, _proof(l0));
        require(token.balanceOf(address(distributor)) == 0, "statement paid out exactly");
        require(distributor.statementOf(keccak256("s1")).remaining == 0, "nothing left");
    }

    function testOffChainStatementRecordsClaimsWithoutTokens() public {
        bytes32 l0 = _leaf(0, ALICE, ALICE, 700);
        bytes32 l1 = _leaf(1, BOB, BOB, 300);
        vm.prank(ACCOUNTANT);
        distributor.publish(keccak256("s2"), _statement(_pair(l0, l1), 1000), address(0), 123);
        RoyaltyDistributor.Record memory rec = distributor.statementOf(keccak256("s2"));
        require(rec.token == address(0) && rec.unitScale == 0 && rec.remaining == 1000, "off chain");
        distributor.claim(keccak256("s2"), 1, BOB, BOB, 300, _proof(l0));
        require(distributor.statementOf(keccak256("s2")).remaining == 700, "claimed");
        require(token.balanceOf(BOB) == 0, "no token moved");
    }

    function testAStatementCannotPayMoreThanItDeclared() public {
        // A root whose entries exceed the declared total (a faulty statement) cannot drain the
        // tokens other statements funded.
        bytes32 l0 = _leaf(0, ALICE, ALICE, 900);
        bytes32 l1 = _leaf(1, BOB, BOB, 900);
        vm.startPrank(ACCOUNTANT);
        distributor.publish(keccak256("other"), _statement(keccak256("x"), 5000), address(token), 1);
        distributor.publish(keccak256("faulty"), _statement(_pair(l0, l1), 1000), address(token), 1);
        vm.stopPrank();
        distributor.claim(keccak256("faulty"), 0, ALICE, ALICE, 900, _proof(l1));
        vm.expectRevert(); // arithmetic underflow of the statement's remaining amount
        distributor.claim(keccak256("faulty"), 1, BOB, BOB, 900, _proof(l0));
        require(token.balanceOf(address(distributor)) == 5000 + 100, "the other statement's funds are intact");
    }

    function testAccountantsRecordEachAdvanceOnce() public {
        bytes32 id = keccak256("advance-1");
        bytes32 role = distributor.ACCOUNTANT_ROLE();
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, BOB, role));
        distributor.recordAdvance(id, ALICE, "JPY", 1_000_000, BOB, "MG-2026-01");
        vm.startPrank(ACCOUNTANT);
        vm.expectRevert(RoyaltyDistributor.ZeroAdvance.selector);
        distributor.recordAdvance(id, ALICE, "JPY", 0, BOB, "MG-2026-01");
        vm.expectRevert(RoyaltyDistributor.ZeroId.selector);
        distributor.recordAdvance(id, address(0), "JPY", 1, BOB, "MG-2026-01");
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.BadCurrency.selector, "YEN!"));
        distributor.recordAdvance(id, ALICE, "YEN!", 1, BOB, "MG-2026-01");
        vm.expectEmit();
        emit RoyaltyDistributor.AdvanceRecorded(id, ALICE, ACCOUNTANT, "JPY", 1_000_000, BOB, "MG-2026-01");
        distributor.recordAdvance(id, ALICE, "JPY", 1_000_000, BOB, "MG-2026-01");
        require(distributor.advanceRecordedAt(id) == block.number, "recorded at its block");
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.AdvanceAlreadyRecorded.selector, id, block.number));
        distributor.recordAdvance(id, ALICE, "JPY", 1_000_000, BOB, "MG-2026-01");
        vm.stopPrank();
        require(distributor.advanceRecordedAt(keccak256("other")) == 0, "unknown advance");
    }

    function testOnlyAccountantsPublishOnceWithValidFields() public {
        RoyaltyDistributor.Statement memory s = _statement(keccak256("root"), 10);
        bytes32 role = distributor.ACCOUNTANT_ROLE();
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, BOB, role));
        distributor.publish(keccak256("s3"), s, address(0), 0);
        vm.startPrank(ACCOUNTANT);
        vm.expectRevert(RoyaltyDistributor.BadScale.selector);
        distributor.publish(keccak256("s3"), s, address(token), 0);
        uint64 end = s.periodEnd;
        s.periodEnd = 0;
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.BadPeriod.selector, s.periodStart, uint64(0)));
        distributor.publish(keccak256("s3"), s, address(0), 0);
        s.periodEnd = end;
        distributor.publish(keccak256("s3"), s, address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.AlreadyPublished.selector, keccak256("s3")));
        distributor.publish(keccak256("s3"), s, address(0), 0);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.UnknownStatement.selector, keccak256("nope")));
        distributor.claim(keccak256("nope"), 0, ALICE, ALICE, 1, new bytes32[](0));
    }

    function testAPeriodsSequenceIsTakenOnceInOrderWithAnchorBlocksThatOnlyGrow() public {
        vm.startPrank(ACCOUNTANT);
        distributor.publish(keccak256("first"), _statementOf(500, 0, 60, keccak256("r"), 10), address(0), 0);
        // A second first statement of the same currency and period: a period would be paid twice.
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.SequenceTaken.selector, keccak256("first")));
        distributor.publish(keccak256("forged"), _statementOf(500, 0, 70, keccak256("r2"), 10), address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.SequenceGap.selector, uint32(2)));
        distributor.publish(keccak256("gap"), _statementOf(500, 2, 70, keccak256("r2"), 10), address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.BadAnchorBlock.selector, uint64(59), uint64(60)));
        distributor.publish(keccak256("back"), _statementOf(500, 1, 59, keccak256("r2"), 10), address(0), 0);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.BadAnchorBlock.selector, uint64(101), uint64(60)));
        distributor.publish(keccak256("future"), _statementOf(500, 1, 101, keccak256("r2"), 10), address(0), 0);
        distributor.publish(keccak256("adjustment"), _statementOf(500, 1, 100, keccak256("r2"), 10), address(0), 0);
        // Another currency, or other dates, is another slot.
        RoyaltyDistributor.Statement memory jpy = _statementOf(500, 0, 60, keccak256("r3"), 10);
        jpy.currency = "JPY";
        distributor.publish(keccak256("jpy"), jpy, address(0), 0);
        vm.stopPrank();
        RoyaltyDistributor.Slot memory slot = distributor.statementAt("USD", 500, 501, 1);
        require(slot.statementId == keccak256("adjustment") && slot.anchorsUpTo == 100, "slot recorded");
        require(distributor.statementAt("USD", 500, 501, 2).statementId == bytes32(0), "free slot");
    }

    function testAFeeOnTransferTokenCannotUnderFundAStatement() public {
        FeeOnTransferTokenForTests taxed = new FeeOnTransferTokenForTests(ACCOUNTANT);
        vm.startPrank(ACCOUNTANT);
        taxed.approve(address(distributor), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.UnderFunded.selector, uint256(1000), uint256(990)));
        distributor.publish(keccak256("taxed"), _statement(keccak256("r"), 1000), address(taxed), 1);
        vm.stopPrank();
    }
}
