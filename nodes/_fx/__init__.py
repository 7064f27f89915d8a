"""fx-node internals: chain parsing and checks, rendering (latency, tails, blocks), loudness, plugin files and their worker process."""
