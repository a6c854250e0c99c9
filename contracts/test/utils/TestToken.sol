// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// A plain mintable ERC-20 for the tests.
contract TestToken is ERC20 {
    constructor(string memory name) ERC20(name, name) {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// Takes a 1% fee on every transfer: the bridge must refuse it.
contract FeeToken is ERC20 {
    constructor() ERC20("FEE", "FEE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// Calls back into the bridge on transfer, to try reentrancy.
interface IReenter {
    function reenter() external;
}

contract ReentrantToken is ERC20 {
    IReenter public hook;

    constructor() ERC20("RE", "RE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setHook(IReenter hook_) external {
        hook = hook_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (address(hook) != address(0)) hook.reenter();
    }
}
