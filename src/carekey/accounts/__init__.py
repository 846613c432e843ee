"""carekey.accounts: setting and resetting another person's sign-in (issue 18)."""
