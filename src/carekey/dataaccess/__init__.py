"""The right of access (GDPR art. 15, docs/access-report.md): a citizen's report of who
entered the home, and an employee's own data."""
