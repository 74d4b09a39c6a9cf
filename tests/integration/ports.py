"""Free ports for a sipboxd a test starts: one shared helper for the integration tests."""
import socket


def free_port(host="127.0.0.1", tcp_span=1):
    """A port free for UDP and TCP on `host`, with the next tcp_span-1 ones free for TCP
    too (sipboxd's --sip-port N takes TLS on N+1 and WebSocket on N+2)."""
    for _ in range(200):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind((host, 0))
        port = probe.getsockname()[1]
        probe.close()
        if port > 65000:
            continue
        held = []
        try:
            for kind, p in [(socket.SOCK_DGRAM, port)] + [(socket.SOCK_STREAM, port + i) for i in range(tcp_span)]:
                s = socket.socket(socket.AF_INET, kind)
                held.append(s)
                s.bind((host, p))
            return port
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError("no free port")
