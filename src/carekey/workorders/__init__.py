"""Work orders (issue 16): install, service and restore, from the office's order to its
sign-off, what they cost, and the timeline of a citizen's and a property's installations."""
