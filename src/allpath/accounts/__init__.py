"""Account rules that need no database: the password policy."""
