#!/usr/bin/env python3
"""Draw the dashboard's app icons (hosting/public/icons/icon-{192,512}.png): a padlock on the dashboard's dark
background, as plain pixels (no image library). `python scripts/make_icons.py` rewrites them; the SVG beside them is
the same drawing by hand."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "hosting" / "public" / "icons"
BACKGROUND = (17, 24, 39)
AMBER = (245, 158, 11)


def pixel(x: float, y: float) -> tuple[int, int, int]:
    """The drawing on a unit square: a lock body and its shackle (a half ring), with a keyhole."""
    body = 0.24 <= x <= 0.76 and 0.46 <= y <= 0.82
    keyhole = (x - 0.5) ** 2 + (y - 0.60) ** 2 <= 0.05 ** 2 or (0.48 <= x <= 0.52 and 0.60 <= y <= 0.72)
    r = ((x - 0.5) ** 2 + (y - 0.46) ** 2) ** 0.5
    legs = 0.46 < y <= 0.5 and (0.29 <= x <= 0.35 or 0.65 <= x <= 0.71)
    shackle = (y <= 0.46 and 0.15 <= r <= 0.21) or legs
    return AMBER if (body and not keyhole) or shackle else BACKGROUND


def png(size: int) -> bytes:
    rows = b"".join(b"\x00" + b"".join(bytes(pixel((i + 0.5) / size, (j + 0.5) / size)) for i in range(size))
                    for j in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


if __name__ == "__main__":
    for size in (192, 512):
        (OUT / f"icon-{size}.png").write_bytes(png(size))
