#!/usr/bin/env python3
"""One client's TLS handshake loop: connect, full handshake (no resumption), close; a reset connection is retried at
once. Bounded: SECONDS seconds. Prints 'ok N reset M'."""
import socket, ssl, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ok = reset = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    s = socket.socket(); s.settimeout(5)
    try:
        s.connect((host, port))
        t = ctx.wrap_socket(s, server_hostname=host)  # handshake
        t.close(); ok += 1
    except (ConnectionError, ssl.SSLError, OSError):
        reset += 1
    finally:
        s.close()
print(f"ok {ok} reset {reset}")
