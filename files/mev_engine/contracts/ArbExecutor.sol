// SPDX-License-Identifier: Apache-2.0
// Executes the reference strategy's cross-pool arbitrage atomically: sells amountIn of
// tokenIn into pairBuy for the other token, sells all of that into pairSell for tokenIn,
// and reverts unless the executor ends with at least minProfit more tokenIn than it
// started with. Amounts out are computed on chain from the reserves at execution time
// (the V2 getAmountOut formula), so a stale order reverts instead of losing money.
// Only the owner (the engine's hot wallet) may trade or move the inventory (tokens and ETH), and
// pass the ownership on (key rotation: the new hot wallet, checked with owner() on chain).
pragma solidity 0.8.28;

interface IERC20 {
    function balanceOf(address) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
}

interface IV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112, uint112, uint32);
    function swap(uint256 amount0Out, uint256 amount1Out, address to) external;
}

contract ArbExecutor {
    address public owner;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event Arbitrage(address indexed pairBuy, address indexed pairSell, address indexed tokenIn, uint256 amountIn, uint256 profit);

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    receive() external payable {}

    modifier onlyOwner() {
        require(msg.sender == owner, "owner");
        _;
    }

    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public pure returns (uint256) {
        uint256 inWithFee = amountIn * 997;
        return (inWithFee * reserveOut) / (reserveIn * 1000 + inWithFee);
    }

    function _swapAll(address pair, address tokenIn, uint256 amountIn, address to) private returns (uint256 out) {
        (uint112 r0, uint112 r1, ) = IV2Pair(pair).getReserves();
        bool zeroForOne = IV2Pair(pair).token0() == tokenIn;
        (uint256 reserveIn, uint256 reserveOut) = zeroForOne ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        out = getAmountOut(amountIn, reserveIn, reserveOut);
        require(out > 0, "no output");
        IV2Pair(pair).swap(zeroForOne ? 0 : out, zeroForOne ? out : 0, to);
    }

    function arbitrage(address pairBuy, address pairSell, address tokenIn, uint256 amountIn, uint256 minProfit)
        external
        onlyOwner
        returns (uint256 profit)
    {
        uint256 before = IERC20(tokenIn).balanceOf(address(this));
        address tokenMid = IV2Pair(pairBuy).token0() == tokenIn ? IV2Pair(pairBuy).token1() : IV2Pair(pairBuy).token0();
        require(IERC20(tokenIn).transfer(pairBuy, amountIn), "transfer in");
        uint256 mid = _swapAll(pairBuy, tokenIn, amountIn, address(this));
        require(IERC20(tokenMid).transfer(pairSell, mid), "transfer mid");
        _swapAll(pairSell, tokenMid, mid, address(this));
        uint256 afterBalance = IERC20(tokenIn).balanceOf(address(this));
        require(afterBalance >= before + minProfit, "unprofitable");
        profit = afterBalance - before;
        emit Arbitrage(pairBuy, pairSell, tokenIn, amountIn, profit);
    }

    function withdrawToken(address token, address to, uint256 amount) external onlyOwner {
        require(IERC20(token).transfer(to, amount), "transfer");
    }

    function withdrawETH(address payable to, uint256 amount) external onlyOwner {
        (bool ok, ) = to.call{value: amount}("");
        require(ok, "eth transfer");
    }

    function transferOwnership(address newOwner) external onlyOwner {
        require(newOwner != address(0), "zero owner");
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }
}
