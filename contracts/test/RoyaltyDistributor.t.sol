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

    function _leaf(address account, address payout, uint256 cumulative, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, payout, cumulative, salt))));
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
        vm.assume(relayer != address(0) && a > 0 && b > 0);
        bytes32 l0 = _leaf(ALICE, ALICE_PAYOUT, a, "sa");
        bytes32 l1 = _leaf(BOB, BOB, b, "sb");
        uint256 total = uint256(a) + b;
        bytes32 root = _pair(l0, l1);
        vm.prank(ACCOUNTANT);
        distributor.publish(keccak256("s1"), _statement(root, total), address(token), 1e4);
        require(token.balanceOf(address(distributor)) == total * 1e4, "funded in full");

        vm.prank(relayer); // anyone may submit; the tokens go to the payout address
        require(distributor.claim(keccak256("s1"), root, ALICE, ALICE_PAYOUT, a, "sa", _proof(l1)) == a, "pays its amount");
        require(token.balanceOf(ALICE_PAYOUT) == uint256(a) * 1e4 && token.balanceOf(ALICE) == 0, "paid to payout");
        bytes32 book = distributor.bookOf("USD", address(token));
        require(distributor.claimedOf(book, ALICE, ALICE_PAYOUT) == a && distributor.claimedOf(book, BOB, BOB) == 0, "claimed so far");

        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.NothingToClaim.selector, uint256(a), uint256(a)));
        distributor.claim(keccak256("s1"), root, ALICE, ALICE_PAYOUT, a, "sa", _proof(l1));
        vm.expectRevert(RoyaltyDistributor.InvalidProof.selector);
        distributor.claim(keccak256("s1"), root, BOB, BOB, uint256(b) + 1, "sb", _proof(l0));
        vm.expectRevert(RoyaltyDistributor.InvalidProof.selector);
        distributor.claim(keccak256("s1"), root, BOB, relayer == BOB ? ALICE : relayer, b, "sb", _proof(l0)); // payout is committed
        vm.expectRevert(RoyaltyDistributor.InvalidProof.selector);
        distributor.claim(keccak256("s1"), root, BOB, BOB, b, "guess", _proof(l0)); // and so is the salt

        distributor.claim(keccak256("s1"), root, BOB, BOB, b, "sb", _proof(l0));
        require(token.balanceOf(address(distributor)) == 0 && distributor.unclaimedOf(book) == 0, "the book paid out exactly");
    }

    function testTheLatestEntryClaimsEveryEarlierStatementAtOnce() public {
        // Three statements of one book: Alice is owed 100, then 50 (cumulative 150), then 25
        // (175). One claim with the third statement's entry pays all 175; the earlier entries
        // have nothing left to pay.
        bytes32[3] memory ids = [keccak256("m1"), keccak256("m2"), keccak256("m3")];
        uint256[3] memory cumulative = [uint256(100), 150, 175];
        bytes32[3] memory leaves;
        bytes32 other = _leaf(BOB, BOB, 1, "b");
        vm.startPrank(ACCOUNTANT);
        for (uint256 i; i < 3; ++i) {
            leaves[i] = _leaf(ALICE, ALICE_PAYOUT, cumulative[i], bytes32(i + 1));
            distributor.publish(ids[i], _statement(_pair(leaves[i], other), i == 0 ? 101 : cumulative[i] - cumulative[i - 1]), address(token), 1);
        }
        vm.stopPrank();
        require(distributor.claim(ids[2], _pair(leaves[2], other), ALICE, ALICE_PAYOUT, 175, bytes32(uint256(3)), _proof(other)) == 175, "everything at once");
        require(token.balanceOf(ALICE_PAYOUT) == 175, "paid");
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.NothingToClaim.selector, uint256(100), uint256(175)));
        distributor.claim(ids[0], _pair(leaves[0], other), ALICE, ALICE_PAYOUT, 100, bytes32(uint256(1)), _proof(other));
        require(distributor.unclaimedOf(distributor.bookOf("USD", address(token))) == 1, "Bob's unit is left");
    }

    function testClaimManyPaysSeveralBooksAllOrNothing() public {
        bytes32 usd = _leaf(ALICE, ALICE, 70, "u");
        bytes32 jpy = _leaf(ALICE, ALICE, 9000, "j");
        bytes32 filler = _leaf(BOB, BOB, 1, "f");
        RoyaltyDistributor.Statement memory yen = _statement(_pair(jpy, filler), 9001);
        yen.currency = "JPY";
        vm.startPrank(ACCOUNTANT);
        distributor.publish(keccak256("usd"), _statement(_pair(usd, filler), 71), address(0), 0);
        distributor.publish(keccak256("jpy"), yen, address(0), 0);
        vm.stopPrank();
        RoyaltyDistributor.Claim[] memory claims = new RoyaltyDistributor.Claim[](2);
        claims[0] = RoyaltyDistributor.Claim(keccak256("usd"), _pair(usd, filler), ALICE, ALICE, 70, "u", _proof(filler));
        claims[1] = RoyaltyDistributor.Claim(keccak256("jpy"), _pair(jpy, filler), ALICE, ALICE, 9000, "bad", _proof(filler));
        vm.expectRevert(RoyaltyDistributor.InvalidProof.selector);
        distributor.claimMany(claims);
        require(distributor.claimedOf(distributor.bookOf("USD", address(0)), ALICE, ALICE) == 0, "nothing claimed");
        claims[1].salt = "j";
        uint256[] memory paid = distributor.claimMany(claims);
        require(paid[0] == 70 && paid[1] == 9000, "both books");
    }

    function testOffChainStatementRecordsClaimsWithoutTokens() public {
        bytes32 l0 = _leaf(ALICE, ALICE, 700, "a");
        bytes32 l1 = _leaf(BOB, BOB, 300, "b");
        vm.prank(ACCOUNTANT);
        distributor.publish(keccak256("s2"), _statement(_pair(l0, l1), 1000), address(0), 123);
        RoyaltyDistributor.Record memory rec = distributor.statementOf(keccak256("s2"));
        require(rec.token == address(0) && rec.unitScale == 0 && rec.book == distributor.bookOf("USD", address(0)), "off chain");
        require(rec.root == _pair(l0, l1), "its root");
        distributor.claim(keccak256("s2"), rec.root, BOB, BOB, 300, "b", _proof(l0));
        require(distributor.unclaimedOf(rec.book) == 700, "claimed");
        require(token.balanceOf(BOB) == 0, "no token moved");
    }

    function testABookCannotPayMoreThanItsStatementsDeclared() public {
        // A root whose entries exceed the declared total (a faulty statement) cannot drain the
        // tokens another book's statements funded: each token pays one book, so the distributor's
        // balance of it is that book's alone.
        SettlementTokenForTests yenToken = new SettlementTokenForTests(ACCOUNTANT);
        bytes32 l0 = _leaf(ALICE, ALICE, 900, "a");
        bytes32 l1 = _leaf(BOB, BOB, 900, "b");
        RoyaltyDistributor.Statement memory yen = _statement(keccak256("x"), 5000);
        yen.currency = "JPY";
        vm.startPrank(ACCOUNTANT);
        yenToken.approve(address(distributor), type(uint256).max);
        distributor.publish(keccak256("other"), yen, address(yenToken), 1);
        distributor.publish(keccak256("faulty"), _statement(_pair(l0, l1), 1000), address(token), 1);
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.ScaleDiffers.selector, 2, 1));
        distributor.publish(keccak256("rescaled"), _statement(keccak256("y"), 1), address(token), 2);
        RoyaltyDistributor.Statement memory yenInDollars = _statement(keccak256("z"), 1);
        yenInDollars.currency = "JPY";
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.TokenServesAnotherBook.selector, address(token), distributor.bookOf("USD", address(token))));
        distributor.publish(keccak256("yen in dollars"), yenInDollars, address(token), 1);
        vm.stopPrank();
        distributor.claim(keccak256("faulty"), _pair(l0, l1), ALICE, ALICE, 900, "a", _proof(l1));
        require(distributor.unclaimedOf(distributor.bookOf("USD", address(token))) == 100, "what the book has left");
        vm.expectRevert(); // the token's own refusal: the distributor holds 100 of it, not 900
        distributor.claim(keccak256("faulty"), _pair(l0, l1), BOB, BOB, 900, "b", _proof(l0));
        require(yenToken.balanceOf(address(distributor)) == 5000 && token.balanceOf(address(distributor)) == 100, "the other book's funds are intact");
        require(distributor.claimedOf(distributor.bookOf("USD", address(token)), BOB, BOB) == 0, "nothing recorded for the refused claim");
    }

    function testAnOffChainBookAcknowledgesNoMoreThanItsStatementsDeclared() public {
        bytes32 l0 = _leaf(ALICE, ALICE, 900, "a");
        bytes32 l1 = _leaf(BOB, BOB, 900, "b");
        vm.prank(ACCOUNTANT);
        distributor.publish(keccak256("faulty"), _statement(_pair(l0, l1), 1000), address(0), 0);
        distributor.claim(keccak256("faulty"), _pair(l0, l1), ALICE, ALICE, 900, "a", _proof(l1));
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.InsufficientUnclaimed.selector, 900, 100));
        distributor.claim(keccak256("faulty"), _pair(l0, l1), BOB, BOB, 900, "b", _proof(l0));
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
        s.periodStart += 10;
        s.periodEnd += 10;
        vm.expectRevert(RoyaltyDistributor.BadScale.selector); // token units per minor unit fit 64 bits
        distributor.publish(keccak256("s4"), s, address(token), uint256(type(uint64).max) + 1);
        vm.stopPrank();
        require(distributor.statementOf(keccak256("s4")).root == bytes32(0), "nothing published");
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.UnknownStatement.selector, keccak256("nope"), s.root));
        distributor.claim(keccak256("nope"), s.root, ALICE, ALICE, 1, "", new bytes32[](0));
        // A claim names the statement with its own root: another statement's root is refused.
        vm.expectRevert(abi.encodeWithSelector(RoyaltyDistributor.UnknownStatement.selector, keccak256("s3"), keccak256("r")));
        distributor.claim(keccak256("s3"), keccak256("r"), ALICE, ALICE, 1, "", new bytes32[](0));
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
