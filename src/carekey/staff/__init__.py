"""Staff: the employees of a municipality, their roles and districts, and importing them."""
