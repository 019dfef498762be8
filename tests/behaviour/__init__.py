"""One behaviour suite for every adapter (SEMANTICS sections 1 to 7)."""
