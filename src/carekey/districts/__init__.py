"""Districts: the care districts of a municipality, their employees and citizens."""
