"""Work phones: registering them, handing them over, enrolling them in the key app."""
