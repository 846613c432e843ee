"""Use cases: each public function is one thing a person or a device asks CareKey to do."""
