"""A soak run: real workers, mixed traffic and a Redis restart (``python -m tests.soak``)."""
