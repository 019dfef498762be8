"""Faults made to happen: killed workers, a store that goes away, lost completions
and clients that leave (SEMANTICS sections 5 and 7)."""
