"""Citizens: the people cared for, where they live, and the doors to their homes."""
