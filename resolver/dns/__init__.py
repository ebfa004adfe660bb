"""The DNS core: wire codec, answer types, the chain and its stages; no sockets."""
