"""Online entrance and gate controllers over MQTT: the server side (issue 17)."""
