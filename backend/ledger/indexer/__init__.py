"""Follows contract events into SQL projections, resuming from a checkpoint, rebuilding on divergence."""
