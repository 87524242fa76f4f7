// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {WorkRegistry} from "../WorkRegistry.sol";

/// @notice WorkRegistry's packed batch format (see `WorkRegistry.registerWorks`), written the
/// plain way, field after field, so tests state batches as structs.
library WorkPacking {
    function pack(WorkRegistry.WorkInput[] memory batch) internal pure returns (bytes memory out) {
        for (uint256 i; i < batch.length; ++i) out = bytes.concat(out, packOne(batch[i]));
    }

    function packOne(WorkRegistry.WorkInput memory w) internal pure returns (bytes memory rec) {
        rec = abi.encodePacked(
            w.contentHash, w.terms.uses, w.terms.royaltyBps, w.terms.expiresAt, uint8(bytes(w.metadataCid).length), w.metadataCid,
            uint16(bytes(w.terms.constraints).length), w.terms.constraints, uint16(w.owners.length)
        );
        for (uint256 j; j < w.owners.length; ++j) {
            rec = abi.encodePacked(rec, w.owners[j].account, w.owners[j].payout, w.owners[j].shareBps);
        }
    }
}

/// @notice Works' current states as a test's calls set them: what an indexer keeps from the
/// events, and what the registry's calls must present.
abstract contract WorkStates {
    mapping(uint64 workId => WorkRegistry.WorkState) internal states;

    function _track(uint64 firstId, address manager, WorkRegistry.WorkInput[] memory batch) internal {
        for (uint256 i; i < batch.length; ++i) {
            WorkRegistry.WorkInput memory w = batch[i];
            uint64 id = firstId + uint64(i);
            states[id] = WorkRegistry.WorkState({
                workId: id, contentHash: w.contentHash, manager: manager, uses: w.terms.uses, royaltyBps: w.terms.royaltyBps,
                expiresAt: w.terms.expiresAt, termsVersion: 1, ownersHash: keccak256(abi.encode(w.owners))
            });
        }
    }

    function _termsChanged(uint64 id, WorkRegistry.Terms memory t) internal {
        WorkRegistry.WorkState storage s = states[id];
        (s.uses, s.royaltyBps, s.expiresAt) = (t.uses, t.royaltyBps, t.expiresAt);
        s.termsVersion += 1;
    }
}
