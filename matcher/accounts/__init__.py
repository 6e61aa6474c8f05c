"""People who use the console: accounts with argon2 passwords, sign-in sessions with idle expiry,
login throttling, and the audit log of every write."""
