"""The administration web UI for municipalities: server-rendered pages (Jinja2 + htmx), Danish
first with an English switch, signed sessions with a TOTP second factor and CSRF protection."""
