// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {PlatformTerms} from "../PlatformTerms.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {CheatCodes} from "./Vm.sol";

contract PlatformTermsTest is CheatCodes {
    PlatformTerms internal terms;
    address internal constant PLATFORM = address(0x9147F0);

    function setUp() public {
        terms = new PlatformTerms(address(this), address(new LedgerForwarder()), 3000);
    }

    function testTheDefaultIsRecordedAtDeployment() public view {
        (bool set, uint16 share) = terms.shareFrom(address(0), 0);
        require(set && share == 3000, "default from day 0");
        (set,) = terms.shareFrom(PLATFORM, 0);
        require(!set, "no platform entry");
    }

    function testAnEntryIsNeverChanged() public {
        terms.setShare(PLATFORM, 20_000 days, 2500);
        terms.setShare(PLATFORM, 20_000 days, 2500); // the same again: nothing changes
        (bool set, uint16 share) = terms.shareFrom(PLATFORM, 20_000 days);
        require(set && share == 2500, "recorded");
        vm.expectRevert(abi.encodeWithSelector(PlatformTerms.ShareAlreadySet.selector, PLATFORM, uint64(20_000 days), uint16(2500)));
        terms.setShare(PLATFORM, 20_000 days, 2000);
        terms.setShare(PLATFORM, 20_001 days, 0); // a later date may say anything, even 0 %
    }

    function testFuzzOnlyTermsAdminsSetValidShares(address caller, uint64 day, uint16 share) public {
        vm.assume(caller != address(this));
        bytes32 role = terms.TERMS_ROLE();
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, caller, role));
        terms.setShare(PLATFORM, day, share);
        if (share > 10_000) vm.expectRevert(abi.encodeWithSelector(PlatformTerms.ShareTooLarge.selector, share));
        else if (day % 1 days != 0) vm.expectRevert(abi.encodeWithSelector(PlatformTerms.NotADayStart.selector, day));
        terms.setShare(PLATFORM, day, share);
    }
}
