"""The housing association's portal (issue 15): properties and modules, the municipality's
permission requests, agreements with partner companies, blocking a company, the partner log."""
