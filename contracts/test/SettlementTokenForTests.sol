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

/// @title FeeOnTransferTokenForTests
/// @notice Keeps 1 % of every transfer: what a settlement must refuse (the distributor would
/// hold less than the statement's total).
contract FeeOnTransferTokenForTests is ERC20 {
    constructor(address holder) ERC20("Taxed", "TAX") {
        _mint(holder, 1e30);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) return super._update(from, to, value);
        uint256 fee = value / 100;
        super._update(from, address(0xFEE), fee);
        super._update(from, to, value - fee);
    }
}
