"""Door devices: their status, commissioning and pages."""
