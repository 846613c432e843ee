"""A partner company's portal: staff, phones, errands and its own staff's openings (issue 15)."""
