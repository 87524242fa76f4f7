// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC2771Forwarder} from "@openzeppelin/contracts/metatx/ERC2771Forwarder.sol";

/// @title LedgerForwarder
/// @notice OpenZeppelin's audited ERC-2771 forwarder, deployed under the ledger's EIP-712 name.
/// Rights holders (and later platforms) sign ForwardRequests; the operator relays them and pays gas,
/// so participants need no ETH and the registries still see the signer as the caller.
contract LedgerForwarder is ERC2771Forwarder {
    constructor() ERC2771Forwarder("LedgerForwarder") {}
}
