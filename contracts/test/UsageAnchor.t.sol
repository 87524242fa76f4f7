// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {UsageAnchor} from "../UsageAnchor.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {CheatCodes} from "./Vm.sol";

contract UsageAnchorTest is CheatCodes {
    UsageAnchor internal anchors;
    address internal constant PLATFORM = address(0x9147F0);

    function setUp() public {
        anchors = new UsageAnchor(address(this), address(new LedgerForwarder()));
        anchors.grantRole(anchors.PLATFORM_ROLE(), PLATFORM);
    }

    function _report(uint64 start, uint64 end) internal pure returns (UsageAnchor.Report memory) {
        return UsageAnchor.Report({
            reportId: "R-2026-11", periodStart: start, periodEnd: end, currency: "JPY", lineCount: 3, totalRevenue: 12345
        });
    }

    function testAnchorsOnceWithPlatformAndTime() public {
        vm.warp(1_800_000_000);
        vm.prank(PLATFORM);
        anchors.anchor(keccak256("batch"), _report(1, 2));
        UsageAnchor.AnchorRecord memory rec = anchors.anchorOf(keccak256("batch"));
        require(rec.platform == PLATFORM && rec.anchoredAt == 1_800_000_000, "recorded");
        vm.prank(PLATFORM);
        vm.expectRevert(abi.encodeWithSelector(UsageAnchor.AlreadyAnchored.selector, keccak256("batch"), PLATFORM));
        anchors.anchor(keccak256("batch"), _report(1, 2));
    }

    function testFuzzOnlyPlatformsAnchorValidPeriods(address caller, uint64 start, uint64 end) public {
        vm.assume(caller != PLATFORM);
        bytes32 role = anchors.PLATFORM_ROLE();
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, caller, role));
        anchors.anchor(keccak256("x"), _report(start, end));
        vm.prank(PLATFORM);
        if (end < start) vm.expectRevert(abi.encodeWithSelector(UsageAnchor.BadPeriod.selector, start, end));
        anchors.anchor(keccak256("x"), _report(start, end));
    }
}
