"""The channel-agnostic conversation core: steps from (state, message) to (state, replies)."""
