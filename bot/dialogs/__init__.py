"""The channel-neutral conversation: one engine walking steps declared as data."""
