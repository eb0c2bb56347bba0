// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.30;

/// @title TraceAnchor
/// @notice Write-once registry of Merkle roots. Each anchor id can be written exactly once,
///         by an account the owner has authorised, so a retried job can never anchor twice.
/// @dev The anchor id is derived off-chain (see chain/anchor.py `anchor_id_for`); the contract
///      only enforces uniqueness. Block number and timestamp are recorded so a verifier needs
///      nothing but this contract to date an anchor.
contract TraceAnchor {
    struct Anchor {
        bytes32 root;
        bytes32 meta;
        // Packed into one slot: 8 + 8 + 8 + 1 bytes.
        uint64 size;
        uint64 blockNumber;
        uint64 timestamp;
        uint8 kind;
        // Non-zero for every stored anchor: doubles as the existence marker.
        address anchorer;
    }

    /// @notice The account that grants and revokes anchorer rights.
    address public owner;

    mapping(address account => bool) private _anchorers;
    mapping(bytes32 anchorId => Anchor) private _anchors;

    /// @notice A root was anchored under `anchorId`.
    event Anchored(
        bytes32 indexed anchorId,
        bytes32 indexed root,
        address indexed anchorer,
        uint64 size,
        uint8 kind,
        bytes32 meta
    );
    /// @notice `account` may now anchor; `by` is the owner who granted it.
    event AnchorerGranted(address indexed account, address indexed by);
    /// @notice `account` may no longer anchor; `by` is the owner who revoked it.
    event AnchorerRevoked(address indexed account, address indexed by);
    /// @notice Ownership moved from `previousOwner` to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    /// @notice `anchorId` already holds a root; anchors are write-once.
    error AlreadyAnchored(bytes32 anchorId);
    /// @notice `account` is not an authorised anchorer.
    error NotAnchorer(address account);
    /// @notice `account` is not the owner.
    error NotOwner(address account);
    /// @notice The zero address is not a valid owner or anchorer.
    error ZeroAddress();
    /// @notice The zero value is not a valid anchor id or root.
    error ZeroValue();
    /// @notice The arrays given to `anchorMany` differ in length.
    error LengthMismatch();

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    modifier onlyAnchorer() {
        if (!_anchorers[msg.sender]) revert NotAnchorer(msg.sender);
        _;
    }

    /// @notice Makes the deployer the owner. The owner is not an anchorer until granted.
    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// @notice Records `root` under `anchorId`; reverts if the id was used before.
    /// @param anchorId Deterministic 32-byte id of what is anchored (never zero).
    /// @param root Merkle root being anchored (never zero).
    /// @param size Number of leaves the root covers.
    /// @param kind Application-defined category of the anchor (batch, log checkpoint, ...).
    /// @param meta Application-defined 32 bytes stored alongside the root.
    function anchor(bytes32 anchorId, bytes32 root, uint64 size, uint8 kind, bytes32 meta)
        external
        onlyAnchorer
    {
        _anchor(anchorId, root, size, kind, meta);
    }

    /// @notice Records several roots in one transaction; all or nothing.
    /// @param anchorIds Ids, one per root; none may have been used before or repeat.
    /// @param roots Merkle roots.
    /// @param sizes Leaf counts.
    /// @param kinds Categories.
    /// @param metas Application-defined 32-byte values.
    function anchorMany(
        bytes32[] calldata anchorIds,
        bytes32[] calldata roots,
        uint64[] calldata sizes,
        uint8[] calldata kinds,
        bytes32[] calldata metas
    ) external onlyAnchorer {
        uint256 n = anchorIds.length;
        if (roots.length != n || sizes.length != n || kinds.length != n || metas.length != n) {
            revert LengthMismatch();
        }
        for (uint256 i = 0; i < n; ++i) {
            _anchor(anchorIds[i], roots[i], sizes[i], kinds[i], metas[i]);
        }
    }

    /// @notice Authorises `account` to anchor. Granting an anchorer again changes nothing.
    /// @param account The account to authorise.
    function grantAnchorer(address account) external onlyOwner {
        if (account == address(0)) revert ZeroAddress();
        if (_anchorers[account]) return;
        _anchorers[account] = true;
        emit AnchorerGranted(account, msg.sender);
    }

    /// @notice Withdraws `account`'s right to anchor. Its past anchors stay.
    /// @param account The account to de-authorise.
    function revokeAnchorer(address account) external onlyOwner {
        if (!_anchorers[account]) return;
        _anchorers[account] = false;
        emit AnchorerRevoked(account, msg.sender);
    }

    /// @notice Hands ownership to `newOwner`.
    /// @param newOwner The new owner; must not be the zero address.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Whether `account` may anchor.
    /// @param account The account to check.
    /// @return True if `account` is an authorised anchorer.
    function isAnchorer(address account) external view returns (bool) {
        return _anchorers[account];
    }

    /// @notice Whether `anchorId` holds a root.
    /// @param anchorId The id to look up.
    /// @return True if a root was anchored under `anchorId`.
    function isAnchored(bytes32 anchorId) external view returns (bool) {
        return _anchors[anchorId].anchorer != address(0);
    }

    /// @notice What was anchored under `anchorId`; all zero if nothing was.
    /// @param anchorId The id to look up.
    /// @return root The anchored Merkle root.
    /// @return size Number of leaves the root covers.
    /// @return kind Application-defined category.
    /// @return meta Application-defined 32 bytes.
    /// @return blockNumber Block in which the anchor was recorded.
    /// @return timestamp Timestamp of that block.
    /// @return anchorer Account that sent the anchor.
    function getAnchor(bytes32 anchorId)
        external
        view
        returns (
            bytes32 root,
            uint64 size,
            uint8 kind,
            bytes32 meta,
            uint64 blockNumber,
            uint64 timestamp,
            address anchorer
        )
    {
        Anchor storage a = _anchors[anchorId];
        return (a.root, a.size, a.kind, a.meta, a.blockNumber, a.timestamp, a.anchorer);
    }

    function _anchor(bytes32 anchorId, bytes32 root, uint64 size, uint8 kind, bytes32 meta)
        private
    {
        if (anchorId == bytes32(0) || root == bytes32(0)) revert ZeroValue();
        Anchor storage a = _anchors[anchorId];
        if (a.anchorer != address(0)) revert AlreadyAnchored(anchorId);
        a.root = root;
        a.meta = meta;
        a.size = size;
        a.blockNumber = uint64(block.number);
        a.timestamp = uint64(block.timestamp);
        a.kind = kind;
        a.anchorer = msg.sender;
        emit Anchored(anchorId, root, msg.sender, size, kind, meta);
    }
}
