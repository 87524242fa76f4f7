// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title SettlementTokenForTests
/// @notice A plain OpenZeppelin ERC-20 (6 decimals, like the common USD stablecoins) that mints
/// its whole supply to `holder`: what the Solidity and Python tests settle statements in.
contract SettlementTokenForTests is ERC20 {
    constructor(address holder) ERC20("Test USD", "TUSD") {
        _mint(holder, 1e30);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }
}
