//! The contracts' ABI as Rust types (`alloy::sol!`), written from
//! `contracts/src/SableTypes.sol` and the two contracts. The anvil tests call the
//! deployed contracts through these, so a mismatch fails there.
#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol! {
    /// One settled batch (see `SableTypes.sol`); its EIP-712 type string is the
    /// contract's `BATCH_TYPEHASH` preimage.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct Batch {
        uint64 number;
        bytes32 parent;
        uint64 firstBlock;
        uint64 lastBlock;
        bytes32 commitmentRoot;
        bytes32 nullifierRoot;
        bytes32 dataHash;
        bytes32 withdrawalsHash;
        uint64 depositsConsumed;
        uint64 validatorSetId;
    }

    /// A shielded burn released to an L1 recipient.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct Withdrawal {
        bytes32 id;
        address token;
        address recipient;
        uint256 amount;
    }

    /// Validator-set rotation, signed by the current set.
    #[derive(Debug, Default, PartialEq, Eq, Hash)]
    struct Rotation {
        uint64 validatorSetId;
        address[] validators;
    }

    #[sol(rpc, all_derives)]
    contract SableSettlement {
        constructor(bytes32 genesis_, address[] validators_);

        function bindBridge(address bridge_) external;
        function getValidators() external view returns (address[] memory);
        function isValidator(address who) external view returns (bool);
        function quorum() external view returns (uint256);
        function hashBatch(Batch calldata b) external pure returns (bytes32);
        function digest(bytes32 structHash) external view returns (bytes32);
        function fold(bytes32 acc, bytes calldata chunk) external view returns (bytes32, uint256 blobs);
        function publish(uint64 number, bool restart, bytes calldata chunk) external;
        function submitBatch(Batch calldata b, Withdrawal[] calldata withdrawals, bytes calldata data, bytes calldata signatures) external;
        function rotateValidators(address[] calldata newValidators, bytes calldata signatures) external;
        function validatorSetId() external view returns (uint64);
        function lastBatch() external view returns (uint64);
        function lastBlock() external view returns (uint64);
        function depositsConsumed() external view returns (uint64);
        function lastBatchHash() external view returns (bytes32);
        function commitmentRoot() external view returns (bytes32);
        function nullifierRoot() external view returns (bytes32);
        function batchHash(uint64 number) external view returns (bytes32);
        function published(address publisher, uint64 number) external view returns (bytes32);
        function genesis() external view returns (bytes32);
        function BATCH_TYPEHASH() external view returns (bytes32);

        event ValidatorSetRotated(uint64 indexed validatorSetId, address[] validators, uint256 quorum);
        event BridgeBound(address indexed bridge);
        event DataPublished(uint64 indexed number, address indexed publisher, bytes32 fold, uint256 blobs);
        event BatchSettled(uint64 indexed number, bytes32 indexed hash, Batch batch, uint256 withdrawals);

        error EmptyValidatorSet();
        error ValidatorsNotAscending(uint256 index);
        error NotDeployer();
        error BridgeAlreadyBound();
        error BridgeNotBound();
        error StaleValidatorSet(uint64 signed, uint64 current);
        error BatchAlreadySettled(uint64 number);
        error BatchGap(uint64 number, uint64 expected);
        error ParentMismatch(bytes32 parent, bytes32 expected);
        error BadBlockRange(uint64 firstBlock, uint64 lastBlock, uint64 expectedFirst);
        error BadDepositsConsumed(uint64 consumed, uint64 previous, uint64 deposits);
        error WithdrawalsMismatch();
        error DataMismatch(bytes32 dataHash, bytes32 published);
        error BadSignatureLength(uint256 length);
        error InvalidSignature(uint256 index);
        error SignersNotAscending(uint256 index);
        error NotValidator(address signer);
        error NoQuorum(uint256 signers, uint256 quorum);
    }

    #[sol(rpc, all_derives)]
    contract SableBridge {
        constructor(address settlement_);

        function listAsset(address token, bytes32 assetId, uint256 unit, bytes calldata signatures) external;
        function setPaused(bool paused_, bytes calldata signatures) external;
        function deposit(address token, uint256 amount, uint256 noteCommitment) external returns (uint64 index);
        function claim(Withdrawal calldata w) external;
        function depositCount() external view returns (uint64);
        function governanceNonce() external view returns (uint64);
        function paused() external view returns (bool);
        function claimable(bytes32 withdrawalHash) external view returns (bool);
        function LIST_TYPEHASH() external view returns (bytes32);

        event AssetListed(address indexed token, bytes32 indexed assetId, uint256 unit);
        event Deposited(uint64 indexed index, address indexed depositor, address indexed token, bytes32 assetId, uint256 amount, uint64 value, uint256 noteCommitment);
        event WithdrawalReleased(uint64 indexed batch, bytes32 indexed id, address token, address recipient, uint256 amount);
        event WithdrawalPaid(bytes32 indexed id, address indexed recipient, address token, uint256 amount);
        event PausedSet(bool paused, uint64 nonce);

        error NotSettlement();
        error BridgePaused();
        error TokenNotListed(address token);
        error AlreadyListed(address token);
        error BadUnit();
        error ZeroAmount();
        error AmountNotMultipleOfUnit(uint256 amount, uint256 unit);
        error ValueTooLarge(uint256 value);
        error NonCanonicalCommitment(uint256 noteCommitment);
        error TransferShortfall(uint256 received, uint256 amount);
        error WithdrawalAlreadyReleased(bytes32 id);
        error NotClaimable(bytes32 id);
    }

    /// An ERC-20 as the tests and the demo use it (OpenZeppelin's, plus `mint` on the
    /// test token).
    #[sol(rpc)]
    contract TestToken {
        constructor(string name);
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function balanceOf(address who) external view returns (uint256);
    }
}
