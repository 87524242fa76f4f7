// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";

/// @title RelayedAccessControl
/// @notice What every ledger registry shares: OpenZeppelin role-based access control, and
/// ERC-2771 so that a participant's call relayed by the trusted forwarder counts as the
/// participant's own (`_msgSender()` is the signer, not the relayer).
abstract contract RelayedAccessControl is AccessControl, ERC2771Context {
    /// @notice `account` lacks `role` (the caller, or the signer of a relayed call).
    error MissingRole(address account, bytes32 role);

    /// @param admin receives DEFAULT_ADMIN_ROLE and grants the participant roles.
    /// @param forwarder the ERC-2771 forwarder trusted to relay participants' signed requests.
    constructor(address admin, address forwarder) ERC2771Context(forwarder) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @dev The sender, who must hold `role`.
    function _senderWithRole(bytes32 role) internal view returns (address sender) {
        sender = _msgSender();
        if (!hasRole(role, sender)) revert MissingRole(sender, role);
    }

    function _msgSender() internal view override(Context, ERC2771Context) returns (address) {
        return ERC2771Context._msgSender();
    }

    function _msgData() internal view override(Context, ERC2771Context) returns (bytes calldata) {
        return ERC2771Context._msgData();
    }

    function _contextSuffixLength() internal view override(Context, ERC2771Context) returns (uint256) {
        return ERC2771Context._contextSuffixLength();
    }
}
