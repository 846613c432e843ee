"""The key app: what runs on an employee's enrolled work phone.

- ``keystore``: the phone's device key, kept as secure hardware would keep it;
- ``wallet``: today's keys, encrypted under the personal code and the device key, deleted
  when they expire, on WIPE, or after too many wrong codes;
- ``outbox``: receipts and app events, written durably before they are shown as done;
- ``client``: the HTTP client of the key service;
- ``service``: the app's use cases (enrol, log in, open, lock, heartbeat, sync);
- ``cli`` and ``tui``: ``carekey app ...`` and the terminal UI.
"""
