"""The installer's work (issue 16): their assigned orders, and commissioning and
decommissioning a door at the door, over the door protocol."""
