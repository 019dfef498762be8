"""The generic WSGI middleware."""
