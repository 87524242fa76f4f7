"""Chain access: compiling, deploying, keys, sending transactions, typed contract calls."""
