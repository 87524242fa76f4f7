// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {RelayedAccessControl} from "../RelayedAccessControl.sol";
import {ProductionRecords} from "../ProductionRecords.sol";
import {LedgerForwarder} from "../LedgerForwarder.sol";
import {CheatCodes} from "./Vm.sol";

contract ProductionRecordsTest is CheatCodes {
    ProductionRecords internal records;
    address internal constant STUDIO = address(0x57D10);
    address internal constant OTHER = address(0x07E4);
    uint256 internal constant DEVICE_KEY = 0xD3F1CE;
    address internal device;

    function setUp() public {
        records = new ProductionRecords(address(this), address(new LedgerForwarder()));
        records.grantRole(records.ENROLLER_ROLE(), STUDIO);
        records.grantRole(records.ENROLLER_ROLE(), OTHER);
        device = vm.addr(DEVICE_KEY);
        vm.warp(1_800_000_000);
    }

    function _consent(uint256 key, address owner, uint16 scope, uint40 expiresAt) internal view returns (bytes memory) {
        bytes32 structHash = keccak256(abi.encode(records.ENROLMENT_TYPEHASH(), owner, scope, expiresAt));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", records.domainSeparator(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _enroll(address owner, uint16 scope, uint40 expiresAt) internal {
        bytes memory sig = _consent(DEVICE_KEY, owner, scope, expiresAt);
        vm.prank(owner);
        records.enrollDevice(device, scope, expiresAt, "workstation", sig);
    }

    function testEnrolledDeviceRecordsItsScopeUntilRevoked() public {
        uint40 until = uint40(block.timestamp + 365 days);
        _enroll(STUDIO, 1 | 2, until);
        ProductionRecords.Device memory d = records.deviceOf(device);
        require(d.owner == STUDIO && d.scope == 3 && d.expiresAt == until && d.revokedAt == 0, "stored");
        require(records.mayRecord(device, 1, uint40(block.timestamp)), "create allowed");
        require(!records.mayRecord(device, 4, uint40(block.timestamp)), "generate outside scope");
        require(!records.mayRecord(device, 1, until), "not after expiry");
        vm.warp(block.timestamp + 10);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(ProductionRecords.NotDeviceOwner.selector, device, OTHER));
        records.revokeDevice(device);
        vm.prank(STUDIO);
        records.revokeDevice(device);
        uint40 revokedAt = uint40(block.timestamp);
        require(records.mayRecord(device, 1, revokedAt - 1), "earlier records stay valid");
        require(!records.mayRecord(device, 1, revokedAt), "none from the revocation on");
        vm.prank(STUDIO);
        vm.expectRevert(abi.encodeWithSelector(ProductionRecords.AlreadyRevoked.selector, device, revokedAt));
        records.revokeDevice(device);
    }

    function testEnrolmentNeedsTheDevicesOwnSignatureForThatOwner() public {
        uint40 until = uint40(block.timestamp + 1 days);
        // Signed for the studio, sent by another enroller: the device did not agree to it.
        bytes memory sig = _consent(DEVICE_KEY, STUDIO, 1, until);
        vm.prank(OTHER);
        vm.expectRevert();
        records.enrollDevice(device, 1, until, "stolen", sig);
        // Signed by another key for this device's address.
        bytes memory forged = _consent(0xBAD, STUDIO, 1, until);
        vm.prank(STUDIO);
        vm.expectRevert(abi.encodeWithSelector(ProductionRecords.NotDeviceSignature.selector, device, vm.addr(0xBAD)));
        records.enrollDevice(device, 1, until, "forged", forged);
        _enroll(STUDIO, 1, until);
        // A key is enrolled once.
        bytes memory again = _consent(DEVICE_KEY, OTHER, 1, until);
        vm.prank(OTHER);
        vm.expectRevert(abi.encodeWithSelector(ProductionRecords.DeviceTaken.selector, device, STUDIO));
        records.enrollDevice(device, 1, until, "again", again);
    }

    function testFuzzScopeAndExpiryAreChecked(uint16 scope, uint40 expiresAt) public {
        bytes memory sig = _consent(DEVICE_KEY, STUDIO, scope, expiresAt);
        vm.prank(STUDIO);
        if (scope == 0 || scope > 31) {
            vm.expectRevert(abi.encodeWithSelector(ProductionRecords.BadScope.selector, scope));
        } else if (expiresAt <= block.timestamp) {
            vm.expectRevert(abi.encodeWithSelector(ProductionRecords.AlreadyExpired.selector, expiresAt));
        }
        records.enrollDevice(device, scope, expiresAt, "", sig);
    }

    function testOnlyEnrollersEnrolAndOnlyTheOperatorAnchors() public {
        bytes32 role = records.ENROLLER_ROLE();
        bytes memory sig = _consent(DEVICE_KEY, address(0xBEEF), 1, uint40(block.timestamp + 1));
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, address(0xBEEF), role));
        records.enrollDevice(device, 1, uint40(block.timestamp + 1), "", sig);

        bytes32 leafA = keccak256("record a");
        bytes32 leafB = keccak256("record b");
        bytes32 a = keccak256(bytes.concat(keccak256(abi.encode(leafA))));
        bytes32 b = keccak256(bytes.concat(keccak256(abi.encode(leafB))));
        bytes32 root = a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
        bytes32 anchorRole = records.ANCHOR_ROLE();
        vm.prank(STUDIO);
        vm.expectRevert(abi.encodeWithSelector(RelayedAccessControl.MissingRole.selector, STUDIO, anchorRole));
        records.anchor(root, 2, "bafy");
        require(records.anchor(root, 2, "bafy") == 1, "first batch");
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = b;
        require(records.contains(1, leafA, proof), "a is in batch 1");
        require(!records.contains(1, keccak256("record c"), proof), "c is not");
        vm.expectRevert(ProductionRecords.ZeroRoot.selector);
        records.anchor(bytes32(0), 1, "");
        vm.expectRevert(ProductionRecords.EmptyBatch.selector);
        records.anchor(root, 0, "");
    }
}
