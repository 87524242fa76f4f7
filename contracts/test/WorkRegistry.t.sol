// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {WorkRegistry} from "../WorkRegistry.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";
import {Errors} from "@openzeppelin/contracts/utils/Errors.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {CheatCodes, Vm} from "./Vm.sol";
import {WorkPacking, WorkStates} from "./WorkStates.sol";

contract WorkRegistryTest is CheatCodes, WorkStates {
    using WorkPacking for WorkRegistry.WorkInput[];
    WorkRegistry internal reg;
    LedgerForwarder internal fwd;
    /// @dev data_mining, ai_generative_training and ai_training allowed: format 1's "training".
    uint16 internal constant TRAINING = 0x51;
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B0B); // ALICE < BOB < CAROL: owner lists are sorted
    address internal constant CAROL = address(0xCA401);
    address internal constant MALLORY = address(0xBAD);

    function setUp() public {
        fwd = new LedgerForwarder();
        reg = new WorkRegistry(address(this), address(fwd));
        reg.grantRole(reg.RIGHTS_HOLDER_ROLE(), ALICE);
    }

    // ---- helpers ----------------------------------------------------------------------------

    function _owners2(uint16 a, uint16 b) internal pure returns (WorkRegistry.Owner[] memory o) {
        o = new WorkRegistry.Owner[](2);
        o[0] = WorkRegistry.Owner({account: ALICE, payout: ALICE, shareBps: a});
        o[1] = WorkRegistry.Owner({account: BOB, payout: BOB, shareBps: b});
    }

    function _input(bytes32 h, WorkRegistry.Owner[] memory owners)
        internal
        pure
        returns (WorkRegistry.WorkInput memory)
    {
        return WorkRegistry.WorkInput({
            contentHash: h,
            metadataCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
            terms: WorkRegistry.Terms({uses: TRAINING, royaltyBps: 500, expiresAt: 0, constraints: ""}),
            owners: owners
        });
    }

    function _one(WorkRegistry.WorkInput memory w) internal pure returns (WorkRegistry.WorkInput[] memory b) {
        b = new WorkRegistry.WorkInput[](1);
        b[0] = w;
    }

    function _registerAsAlice(bytes32 h) internal returns (uint64) {
        return _register(ALICE, _one(_input(h, _owners2(6000, 4000))));
    }

    function _register(address manager, WorkRegistry.WorkInput[] memory batch) internal returns (uint64 first) {
        vm.prank(manager);
        first = reg.registerWorks(batch.pack());
        _track(first, manager, batch);
    }

    function _updateTerms(uint64 id, WorkRegistry.Terms memory t) internal {
        vm.prank(states[id].manager);
        reg.updateTerms(states[id], t);
        _termsChanged(id, t);
    }

    function _sum(WorkRegistry.Owner[] memory o) internal pure returns (uint256 s) {
        for (uint256 i; i < o.length; ++i) s += o[i].shareBps;
    }

    // ---- registration -----------------------------------------------------------------------

    function testRegistersBatchWithConsecutiveIds() public {
        WorkRegistry.WorkInput[] memory b = new WorkRegistry.WorkInput[](3);
        for (uint256 i; i < 3; ++i) b[i] = _input(bytes32(i + 1), _owners2(5000, 5000));
        uint64 first = _register(ALICE, b);
        require(first == 1, "first id");
        require(reg.workCount() == 3, "count");
        require(reg.workIdOf(bytes32(uint256(3))) == 3, "lookup");
        require(reg.isCurrent(states[2]) && states[2].manager == ALICE, "manager");
        require(states[1].ownersHash == keccak256(abi.encode(_owners2(5000, 5000))) && reg.isCurrent(states[1]), "owners hash");
        WorkRegistry.WorkState memory other = states[2];
        other.manager = BOB;
        require(!reg.isCurrent(other), "another state is not current");
    }

    function testRefusesDuplicateContentHash() public {
        _registerAsAlice(bytes32(uint256(7)));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.WorkAlreadyRegistered.selector, bytes32(uint256(7)), uint64(1)));
        reg.registerWorks(_one(_input(bytes32(uint256(7)), _owners2(5000, 5000))).pack());
    }

    function testRefusesDuplicateWithinOneBatch() public {
        WorkRegistry.WorkInput[] memory b = new WorkRegistry.WorkInput[](2);
        b[0] = _input(bytes32(uint256(9)), _owners2(5000, 5000));
        b[1] = b[0];
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.WorkAlreadyRegistered.selector, bytes32(uint256(9)), uint64(1)));
        reg.registerWorks(b.pack());
    }

    function testRefusesAccountWithoutRole() public {
        bytes32 role = reg.RIGHTS_HOLDER_ROLE();
        vm.prank(MALLORY);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, MALLORY, role));
        reg.registerWorks(_one(_input(bytes32(uint256(1)), _owners2(5000, 5000))).pack());
    }

    function testOnlyAdminGrantsRole() public {
        bytes32 role = reg.RIGHTS_HOLDER_ROLE();
        vm.prank(MALLORY);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, MALLORY, bytes32(0))
        );
        reg.grantRole(role, MALLORY);
    }

    function testFuzzSharesMustSumToTotal(uint16 a, uint16 b) public {
        vm.prank(ALICE);
        uint256 total = uint256(a) + uint256(b);
        if (a == 0) {
            vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ZeroShare.selector, uint256(0)));
        } else if (b == 0) {
            vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ZeroShare.selector, uint256(1)));
        } else if (total != 10_000) {
            vm.expectRevert(abi.encodeWithSelector(WorkRegistry.SharesDoNotSum.selector, total));
        }
        reg.registerWorks(_one(_input(bytes32(uint256(1)), _owners2(a, b))).pack());
        if (a != 0 && b != 0 && total == 10_000) require(reg.workCount() == 1, "registered");
    }

    function testRefusesUnsortedOwners() public {
        WorkRegistry.Owner[] memory o = _owners2(5000, 5000);
        (o[0], o[1]) = (o[1], o[0]);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.OwnersNotSorted.selector, uint256(1)));
        reg.registerWorks(_one(_input(bytes32(uint256(1)), o)).pack());
    }

    function testRefusesPastExpiryAndExcessRoyalty() public {
        vm.warp(1_000_000);
        WorkRegistry.WorkInput memory w = _input(bytes32(uint256(1)), _owners2(5000, 5000));
        w.terms.expiresAt = 999_999;
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ExpiryInPast.selector, uint40(999_999)));
        reg.registerWorks(_one(w).pack());
        w.terms.expiresAt = 0;
        w.terms.royaltyBps = 10_001;
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.RoyaltyTooHigh.selector, uint16(10_001)));
        reg.registerWorks(_one(w).pack());
    }

    function _forwardRequest(uint256 pk, bytes memory data, uint48 deadline)
        internal
        view
        returns (ERC2771Forwarder.ForwardRequestData memory req)
    {
        address from = vm.addr(pk);
        req = ERC2771Forwarder.ForwardRequestData({
            from: from, to: address(reg), value: 0, gas: 1_000_000, deadline: deadline, data: data, signature: ""
        });
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "ForwardRequest(address from,address to,uint256 value,uint256 gas,uint256 nonce,uint48 deadline,bytes data)"
                ),
                from, address(reg), uint256(0), uint256(1_000_000), fwd.nonces(from), deadline, keccak256(data)
            )
        );
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("LedgerForwarder"), keccak256("1"), block.chainid, address(fwd)
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        req.signature = abi.encodePacked(r, s, v);
    }

    function testRelayedRegistrationMakesTheSignerManager() public {
        uint256 pk = 0xA11CE5;
        address holder = vm.addr(pk);
        reg.grantRole(reg.RIGHTS_HOLDER_ROLE(), holder);
        bytes memory data = abi.encodeCall(reg.registerWorks, (_one(_input(bytes32(uint256(42)), _owners2(5000, 5000))).pack()));
        ERC2771Forwarder.ForwardRequestData memory req = _forwardRequest(pk, data, uint48(block.timestamp + 1 hours));

        vm.prank(MALLORY); // anyone may relay; the signer, not the relayer, is the caller
        fwd.execute(req);
        WorkRegistry.WorkState memory s = WorkRegistry.WorkState({
            workId: 1, contentHash: bytes32(uint256(42)), manager: holder, uses: TRAINING, royaltyBps: 500, expiresAt: 0,
            termsVersion: 1, ownersHash: keccak256(abi.encode(_owners2(5000, 5000)))
        });
        require(reg.isCurrent(s), "holder is manager");
        require(fwd.nonces(holder) == 1, "nonce used");

        // The same request cannot be replayed: the nonce moved on, so the signature no longer verifies.
        require(!fwd.verify(req), "stale request no longer verifies");
    }

    function testForgedRelayIsRefused() public {
        bytes memory data = abi.encodeCall(reg.registerWorks, (_one(_input(bytes32(uint256(42)), _owners2(5000, 5000))).pack()));
        ERC2771Forwarder.ForwardRequestData memory req = _forwardRequest(0xBAD5, data, uint48(block.timestamp + 1 hours));
        req.from = ALICE; // claims to be Alice, signed by someone else
        require(!fwd.verify(req), "forged request verifies");
        try fwd.execute(req) {
            revert("forged relay executed");
        } catch (bytes memory err) {
            require(bytes4(err) == ERC2771Forwarder.ERC2771ForwarderInvalidSigner.selector, "wrong error");
        }
        require(reg.workCount() == 0, "nothing registered");
    }

    function testRelayedCallStillNeedsTheRole() public {
        uint256 pk = 0xC0FFEE;
        bytes memory data = abi.encodeCall(reg.registerWorks, (_one(_input(bytes32(uint256(5)), _owners2(5000, 5000))).pack()));
        ERC2771Forwarder.ForwardRequestData memory req = _forwardRequest(pk, data, uint48(block.timestamp + 1 hours));
        // The inner call reverts with MissingRole; the forwarder reports it as a failed call.
        vm.expectRevert(abi.encodeWithSelector(Errors.FailedCall.selector));
        fwd.execute(req);
        require(reg.workCount() == 0, "nothing registered");
    }

    // ---- changes after registration ---------------------------------------------------------

    function testManagerRevokesTrainingForTheFuture() public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        require(reg.isTrainable(id), "trainable at first");
        WorkRegistry.Terms memory none = WorkRegistry.Terms({uses: 0, royaltyBps: 500, expiresAt: 0, constraints: ""});
        WorkRegistry.WorkState memory s = states[id];
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.NotManager.selector, id, BOB));
        reg.updateTerms(s, none);
        _updateTerms(id, none);
        require(!reg.isTrainable(id), "revoked");
        require(states[id].termsVersion == 2 && reg.isCurrent(states[id]), "version");
        // The state before the change is stale now, whoever presents it.
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.StaleState.selector, id));
        reg.updateTerms(s, none);
    }

    /// @dev A state that differs from the current one in any field is refused, and changes nothing.
    function testFuzzOnlyTheCurrentStateIsAccepted(uint8 field, uint256 noise) public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        _registerAsAlice(bytes32(uint256(2)));
        vm.assume(noise != 0);
        WorkRegistry.WorkState memory s = states[id];
        field %= 8;
        if (field == 0) s.workId = 2;
        if (field == 1) s.contentHash = bytes32(uint256(2));
        if (field == 2) s.manager = address(uint160(s.manager) ^ uint160(noise));
        if (field == 3) s.uses ^= uint16(noise) == 0 ? 1 : uint16(noise);
        if (field == 4) s.royaltyBps ^= uint16(noise) == 0 ? 1 : uint16(noise);
        if (field == 5) s.expiresAt ^= uint40(noise) == 0 ? 1 : uint40(noise);
        if (field == 6) s.termsVersion ^= uint24(noise) == 0 ? 1 : uint24(noise);
        if (field == 7) s.ownersHash ^= bytes32(noise);
        require(!reg.isCurrent(s), "a changed state is not current");
        vm.prank(ALICE);
        // Another work's content hash with this id is stale; so is every other change.
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.StaleState.selector, s.workId));
        reg.transferManagement(s, CAROL);
        require(reg.isCurrent(states[id]), "nothing changed");
    }

    function testFuzzUsesAreStatesOfKnownUses(uint16 uses) public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        bool unknown = uses >> 12 != 0;
        bool constrained;
        for (uint8 u; u < 6; ++u) {
            uint16 state = (uses >> (2 * u)) & 3;
            if (state == 3) unknown = true;
            if (state == 2) constrained = true;
        }
        WorkRegistry.Terms memory t =
            WorkRegistry.Terms({uses: uses, royaltyBps: 500, expiresAt: 0, constraints: constrained ? "bafkrei-licence" : ""});
        if (unknown) {
            vm.prank(ALICE);
            vm.expectRevert(abi.encodeWithSelector(WorkRegistry.UnknownUses.selector, uses));
            reg.updateTerms(states[id], t);
            return;
        }
        _updateTerms(id, t);
        require(reg.isCurrent(states[id]), "stored");
        require(reg.referenceAllowed(id) == ((uses >> 8) & 3 == 1), "reference");
        require(!reg.referenceAllowed(99) && reg.licenseOf(99) == WorkRegistry.License.Unknown, "an unknown work allows nothing");
        require(reg.licenseOf(0) == WorkRegistry.License.Unknown, "nor does work 0");
        uint16 generative = (uses >> 4) & 3;
        require(reg.isTrainable(id) == (generative == 1), "training");
        if (generative == 2) require(reg.licenseOf(id) == WorkRegistry.License.Constrained, "constrained");
    }

    /// @dev The licence nibble a batch of links reads must say what the terms say, for any terms,
    /// at any position in its word, and after the terms change.
    function testFuzzLicenseNibbleAgreesWithTheTerms(uint16 uses, uint8 position, bool expires) public {
        uses &= 0x0fff;
        for (uint8 u; u < 6; ++u) {
            if ((uses >> (2 * u)) & 3 == 3) uses &= ~uint16(1 << (2 * u)); // a known state in each slot
        }
        vm.warp(1000);
        WorkRegistry.WorkInput[] memory batch = new WorkRegistry.WorkInput[](uint256(position) % 70 + 1);
        for (uint256 i; i < batch.length; ++i) batch[i] = _input(bytes32(i + 1), _owners2(6000, 4000));
        uint64 first = _register(ALICE, batch);
        uint64 id = first + uint64(batch.length) - 1;
        bool constrained;
        for (uint8 u; u < 6; ++u) {
            if ((uses >> (2 * u)) & 3 == 2) constrained = true;
        }
        _updateTerms(id, WorkRegistry.Terms({uses: uses, royaltyBps: 500, expiresAt: expires ? 2000 : 0, constraints: constrained ? "bafkrei-licence" : ""}));
        uint256 nibble = (reg.licenseBits(id >> 6) >> ((id & 63) * 4)) & 15;
        require((nibble & reg.NIBBLE_EXPIRES() != 0) == expires, "expiry flag");
        require(reg.expiryOf(id) == (expires ? 2000 : 0), "expiry");
        require(nibble & reg.NIBBLE_TRAINING() == (uses >> 4) & 3, "training state");
        require((nibble & reg.NIBBLE_REFERENCE() != 0) == ((uses >> 8) & 3 == 1), "reference");
        require(reg.referenceAllowed(id) == ((uses >> 8) & 3 == 1), "reference allowed");
        WorkRegistry.License license = reg.licenseOf(id);
        require((nibble & 3 == 1) == (license == WorkRegistry.License.Trainable), "trainable");
        require((nibble & 3 == 2) == (license == WorkRegistry.License.Constrained), "constrained");
        if (id > first) {
            uint256 before = (reg.licenseBits((id - 1) >> 6) >> (((id - 1) & 63) * 4)) & 15;
            require(before == 1, "the neighbour's nibble is untouched"); // TRAINING terms, no expiry
        }
        require((reg.licenseBits((id + 1) >> 6) >> (((id + 1) & 63) * 4)) & 15 == 0, "no work, no nibble");
        if (expires) {
            vm.warp(2000);
            require(reg.licenseOf(id) == WorkRegistry.License.Expired && !reg.referenceAllowed(id), "expired");
            _updateTerms(id, WorkRegistry.Terms({uses: uses, royaltyBps: 500, expiresAt: 0, constraints: constrained ? "bafkrei-licence" : ""}));
            require(reg.expiryOf(id) == 0 && reg.licenseOf(id) != WorkRegistry.License.Expired, "renewed until revoked");
        }
    }

    function testConstraintsGoWithConstrainedUses() public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        uint16 constrainedTraining = 2 << 4;
        WorkRegistry.WorkState memory s = states[id];
        vm.startPrank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ConstraintsRequired.selector, constrainedTraining));
        reg.updateTerms(s, WorkRegistry.Terms({uses: constrainedTraining, royaltyBps: 500, expiresAt: 0, constraints: ""}));
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.UnexpectedConstraints.selector, TRAINING));
        reg.updateTerms(s, WorkRegistry.Terms({uses: TRAINING, royaltyBps: 500, expiresAt: 0, constraints: "bafkrei-licence"}));
        bytes memory tooLong = new bytes(257);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ConstraintsTooLong.selector, 257));
        reg.updateTerms(s, WorkRegistry.Terms({uses: constrainedTraining, royaltyBps: 500, expiresAt: 0, constraints: string(tooLong)}));
        vm.stopPrank();
        _updateTerms(id, WorkRegistry.Terms({uses: constrainedTraining, royaltyBps: 500, expiresAt: 0, constraints: "bafkrei-licence"}));
        require(reg.licenseOf(id) == WorkRegistry.License.Constrained && !reg.isTrainable(id), "constrained is not allowed");
    }

    function testOwnersRecordTheirPositions() public {
        WorkRegistry.Owner[] memory owners = _owners2(5000, 5000);
        uint64 id = _register(ALICE, _one(_input(bytes32(uint256(7)), owners)));
        WorkRegistry.WorkState memory s = states[id];
        vm.prank(BOB);
        reg.recordPosition(s, owners, 1, 0); // BOB: nothing allowed
        vm.prank(MALLORY);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.NotOwner.selector, id, MALLORY));
        reg.recordPosition(s, owners, 1, 0);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.UnknownUses.selector, uint16(3)));
        reg.recordPosition(s, owners, 1, 3);
        require(reg.isCurrent(s), "a position does not change the terms");
    }

    function testLicenseExpires() public {
        vm.warp(1000);
        WorkRegistry.WorkInput memory w = _input(bytes32(uint256(1)), _owners2(5000, 5000));
        w.terms.expiresAt = 2000;
        uint64 id = _register(ALICE, _one(w));
        require(reg.isTrainable(id) && reg.expiryOf(id) == 2000, "before expiry");
        vm.warp(2000);
        require(!reg.isTrainable(id) && reg.licenseOf(id) == WorkRegistry.License.Expired, "after expiry");
    }

    function testOnlyOwnerChangesItsPayout() public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        WorkRegistry.Owner[] memory o = _owners2(6000, 4000);
        WorkRegistry.WorkState memory s = states[id];
        vm.prank(MALLORY);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.NotOwner.selector, id, MALLORY));
        reg.setPayout(s, o, 1, MALLORY);
        vm.prank(BOB);
        reg.setPayout(s, o, 1, CAROL);
        o[1].payout = CAROL;
        s.ownersHash = keccak256(abi.encode(o));
        require(reg.isCurrent(s), "hash follows payout");
        vm.prank(BOB); // the stale list is refused
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.OwnersMismatch.selector, id));
        reg.setPayout(s, _owners2(6000, 4000), 1, BOB);
    }

    function testFuzzTransferConservesShares(uint16 amount, bool toNewcomer) public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        WorkRegistry.Owner[] memory o = _owners2(6000, 4000);
        WorkRegistry.WorkState memory s = states[id];
        address to = toNewcomer ? CAROL : BOB;
        vm.prank(ALICE);
        if (amount == 0) {
            vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ZeroShare.selector, uint256(0)));
        } else if (amount > 6000) {
            vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ShareTooLarge.selector, amount, uint16(6000)));
        }
        reg.transferShare(s, o, 0, to, CAROL, amount);
        if (amount == 0 || amount > 6000) return;

        // Rebuild the expected list the way an indexer would, and check the stored hash and the sum.
        bool aliceLeaves = amount == 6000;
        uint256 len = (aliceLeaves ? 1 : 2) + (toNewcomer ? 1 : 0);
        WorkRegistry.Owner[] memory next = new WorkRegistry.Owner[](len);
        uint256 j;
        if (!aliceLeaves) next[j++] = WorkRegistry.Owner(ALICE, ALICE, 6000 - amount);
        next[j++] = WorkRegistry.Owner(BOB, BOB, toNewcomer ? 4000 : 4000 + amount);
        if (toNewcomer) next[j++] = WorkRegistry.Owner(CAROL, CAROL, amount);
        require(_sum(next) == 10_000, "conserved");
        s.ownersHash = keccak256(abi.encode(next));
        require(reg.isCurrent(s), "hash matches rebuilt list");
    }

    function testFuzzStrangerCannotTransfer(address stranger, uint8 index) public {
        vm.assume(stranger != ALICE && stranger != BOB);
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.NotOwner.selector, id, stranger));
        reg.transferShare(states[id], _owners2(6000, 4000), index, stranger, stranger, 1);
    }

    function testOnlyAnArbiterReassignsAWork() public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        WorkRegistry.Owner[] memory next = new WorkRegistry.Owner[](1);
        next[0] = WorkRegistry.Owner({account: BOB, payout: BOB, shareBps: 10_000});
        bytes32 role = reg.ARBITER_ROLE();
        WorkRegistry.WorkState memory s = states[id];
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, ALICE, role));
        reg.reassign(s, 7, BOB, next);
        reg.grantRole(role, address(this));
        reg.reassign(s, 7, BOB, next);
        WorkRegistry.WorkState memory after_ = s;
        (after_.manager, after_.ownersHash) = (BOB, keccak256(abi.encode(next)));
        require(reg.isCurrent(after_), "new manager and owners");
        next[0].shareBps = 9_000;
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.SharesDoNotSum.selector, uint256(9_000)));
        reg.reassign(after_, 7, BOB, next);
    }

    function testManagementTransfer() public {
        uint64 id = _registerAsAlice(bytes32(uint256(1)));
        WorkRegistry.WorkState memory s = states[id];
        vm.prank(ALICE);
        reg.transferManagement(s, CAROL);
        s.manager = CAROL;
        require(reg.isCurrent(s), "new manager");
        s.manager = ALICE;
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.StaleState.selector, id));
        reg.transferManagement(s, ALICE);
        s.manager = CAROL;
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.NotManager.selector, id, ALICE));
        reg.transferManagement(s, ALICE);
    }

    function testUnknownWork() public {
        WorkRegistry.WorkState memory s;
        s.workId = 99;
        s.contentHash = bytes32(uint256(99));
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.UnknownWork.selector, uint64(99)));
        reg.updateTerms(s, WorkRegistry.Terms({uses: 0, royaltyBps: 0, expiresAt: 0, constraints: ""}));
    }

    // ---- the packed format ------------------------------------------------------------------

    /// @dev Every cut of a valid batch short of its end is refused as malformed (nothing read past
    /// the batch, nothing registered), and the whole batch registers.
    function testFuzzTruncatedBatchIsMalformed(uint16 cut) public {
        WorkRegistry.WorkInput[] memory b = new WorkRegistry.WorkInput[](2);
        b[0] = _input(bytes32(uint256(1)), _owners2(5000, 5000));
        b[1] = _input(bytes32(uint256(2)), _owners2(2500, 7500));
        b[1].terms.uses = 2 << 4;
        b[1].terms.constraints = "bafkrei-licence";
        bytes memory packed = b.pack();
        uint256 first = WorkPacking.packOne(b[0]).length;
        uint256 n = uint256(cut) % packed.length;
        if (n == 0) n = 1; // an empty batch is EmptyBatch
        bytes memory part = new bytes(n);
        for (uint256 i; i < n; ++i) part[i] = packed[i];
        vm.prank(ALICE);
        if (n != first) vm.expectRevert(abi.encodeWithSelector(WorkRegistry.MalformedWorks.selector, n < first ? 0 : first));
        reg.registerWorks(part);
        require(reg.workCount() == (n == first ? 1 : 0), "only a whole record registers");
    }

    function testBatchEventCarriesThePackedBatch() public {
        WorkRegistry.WorkInput[] memory b = new WorkRegistry.WorkInput[](2);
        b[0] = _input(bytes32(uint256(1)), _owners2(5000, 5000));
        b[1] = _input(bytes32(uint256(2)), _owners2(2500, 7500));
        vm.recordLogs();
        _register(ALICE, b);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        require(logs.length == 1, "one log for the batch");
        require(logs[0].topics[0] == WorkRegistry.WorksRegistered.selector, "WorksRegistered");
        require(uint256(logs[0].topics[1]) == 1 && address(uint160(uint256(logs[0].topics[2]))) == ALICE, "first id, manager");
        (uint64 lastId, bytes memory works) = abi.decode(logs[0].data, (uint64, bytes));
        require(lastId == 2 && keccak256(works) == keccak256(b.pack()), "the batch as submitted");
    }

    function testEmptyCidAndZeroHashAreRefused() public {
        WorkRegistry.WorkInput memory w = _input(bytes32(uint256(1)), _owners2(5000, 5000));
        w.metadataCid = "";
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.EmptyMetadataCid.selector, uint256(0)));
        reg.registerWorks(_one(w).pack());
        w = _input(bytes32(0), _owners2(5000, 5000));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.ZeroContentHash.selector, uint256(0)));
        reg.registerWorks(_one(w).pack());
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(WorkRegistry.EmptyBatch.selector));
        reg.registerWorks("");
    }
}
