"""Content addressing: CIDv1 computed locally, blocks kept locally or pinned to an IPFS node."""
