"""cxy-matcher: enterprise-university matchmaking for science & technology bureaus."""

__version__ = "0.1.0"
