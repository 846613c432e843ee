"""Consent and permission (issue 16): the citizen's consent before anything is fitted, and the
housing association's permission before a module goes into a property's door-phone system."""
