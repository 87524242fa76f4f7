// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {EvidenceAnchor} from "../EvidenceAnchor.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {CheatCodes} from "./Vm.sol";

contract EvidenceAnchorTest is CheatCodes {
    EvidenceAnchor internal anchors;

    function setUp() public {
        anchors = new EvidenceAnchor(address(this), address(new LedgerForwarder()));
    }

    function _leaf(bytes32 h) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(h))));
    }

    function _pair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    function testBatchesAreNumberedAndProveTheirReports() public {
        bytes32 a = keccak256("report a");
        bytes32 b = keccak256("report b");
        bytes32 root = _pair(_leaf(a), _leaf(b));
        require(anchors.anchor(root, 2, "bafy-list") == 1, "first batch");
        require(anchors.anchor(_leaf(a), 1, "bafy-one") == 2, "second batch");
        require(anchors.batchCount() == 2 && anchors.rootOf(1) == root, "stored");
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = _leaf(b);
        require(anchors.contains(1, a, proof), "a in batch 1");
        require(!anchors.contains(1, keccak256("other"), proof), "not a forged report");
        require(!anchors.contains(3, a, proof), "no such batch");
        require(anchors.contains(2, a, new bytes32[](0)), "a single-report batch is its leaf");
    }

    function testFuzzOnlyTheAnchorRoleAnchorsNonEmptyBatches(address caller, bytes32 root, uint32 count) public {
        vm.assume(caller != address(this));
        bytes32 role = anchors.ANCHOR_ROLE();
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, caller, role));
        anchors.anchor(root, count, "x");
        if (root == bytes32(0)) vm.expectRevert(EvidenceAnchor.ZeroRoot.selector);
        else if (count == 0) vm.expectRevert(EvidenceAnchor.EmptyBatch.selector);
        anchors.anchor(root, count, "x");
    }
}
