"""TCP syslog framing (RFC 6587), detected per message, as a pure state machine.

Senders use either octet counting (``MSG-LEN SP MSG``, RFC 5425/6587 3.4.1) or
non-transparent framing (messages ending in LF; a CR before it is trimmed).
A frame starting with a non-zero digit followed by digits and a space is
octet-counted; anything else (a syslog message starts with ``<``) is read up
to the next LF. Detection is per message because relays mix both on one
connection after a reconnect.

Oversized frames are cut to ``limit + 1`` bytes (so the parser sees they are
too long and marks them) and the rest is skipped, keeping memory bounded
whatever a sender claims.
"""

from __future__ import annotations

__all__ = ["Framer"]

_MAX_LEN_DIGITS = 9


class Framer:
    """``frames = framer.feed(chunk)``; ``framer.close()`` returns a last unterminated frame."""

    def __init__(self, limit: int = 65536) -> None:
        self.limit = limit
        self._buf = bytearray()
        self._skip = 0  # bytes of an oversized octet-counted frame still to discard
        self._discard_line = False  # an oversized LF frame: drop up to the next LF

    def feed(self, data: bytes) -> list[bytes]:
        out: list[bytes] = []
        if self._skip:
            if len(data) <= self._skip:
                self._skip -= len(data)
                return out
            data = data[self._skip :]
            self._skip = 0
        buf = self._buf
        buf += data
        pos = 0
        n = len(buf)
        while pos < n:
            if self._discard_line:
                nl = buf.find(b"\n", pos)
                if nl < 0:
                    pos = n
                    break
                pos = nl + 1
                self._discard_line = False
                continue
            c = buf[pos]
            if 0x31 <= c <= 0x39:  # 1-9: maybe octet counting
                sp = buf.find(b" ", pos, pos + _MAX_LEN_DIGITS + 1)
                if sp < 0 and n - pos <= _MAX_LEN_DIGITS and buf.find(b"\n", pos) < 0:
                    break  # the length is not complete yet
                if sp > 0 and buf[pos:sp].isdigit():
                    length = int(buf[pos:sp])
                    start = sp + 1
                    if length > self.limit:
                        have = n - start
                        if have < self.limit + 1:
                            break
                        out.append(bytes(buf[start : start + self.limit + 1]))
                        if have >= length:
                            pos = start + length
                        else:
                            self._skip = length - have
                            pos = n
                        continue
                    if n - start < length:
                        break
                    out.append(bytes(buf[start : start + length]))
                    pos = start + length
                    continue
            if c in b"\n\r\x00":  # stray terminators between frames
                pos += 1
                continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if n - pos > self.limit:
                    out.append(bytes(buf[pos : pos + self.limit + 1]))
                    self._discard_line = True
                    pos = n
                break
            out.append(bytes(buf[pos:nl]))
            pos = nl + 1
        del buf[:pos]
        return out

    def close(self) -> list[bytes]:
        """The unterminated rest at end of connection, kept rather than dropped."""
        rest = bytes(self._buf).strip(b"\r\n\x00")
        self._buf.clear()
        if self._discard_line or not rest:
            return []
        return [rest[: self.limit + 1]]
