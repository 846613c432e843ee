"""The partner company's portal (issue 15): its staff and phones, its agreements and windows,
the log of its own staff's openings, and one-off errands."""
