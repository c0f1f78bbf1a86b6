"""Draw icon.png (the bundle's icon: a white check mark on a red rounded square) with the standard library only.

Usage: .venv/bin/python scripts/make_icon.py   (rewrites icon.png at the repository root; the output is deterministic)
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

SIZE = 512  # the size Claude Desktop recommends (mcpb validate warns below it)
SCALE = SIZE / 128  # the geometry below is drawn on a 128-pixel grid
RADIUS = 24 * SCALE
RED = (219, 64, 53, 255)
WHITE = (255, 255, 255, 255)
CLEAR = (0, 0, 0, 0)
# The check mark: two strokes, as segments in pixel coordinates, drawn with this half-width.
STROKES = tuple(
    tuple((x * SCALE, y * SCALE) for x, y in segment)
    for segment in (((34.0, 66.0), (56.0, 88.0)), ((56.0, 88.0), (96.0, 42.0)))
)
HALF_WIDTH = 8.0 * SCALE


def _inside_rounded_square(x: float, y: float) -> bool:
    cx = min(max(x, RADIUS), SIZE - RADIUS)
    cy = min(max(y, RADIUS), SIZE - RADIUS)
    return (x - cx) ** 2 + (y - cy) ** 2 <= RADIUS**2


def _near_stroke(x: float, y: float) -> bool:
    for (ax, ay), (bx, by) in STROKES:
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        if (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= HALF_WIDTH**2:
            return True
    return False


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    px, py = x + 0.5, y + 0.5
    if not _inside_rounded_square(px, py):
        return CLEAR
    return WHITE if _near_stroke(px, py) else RED


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png() -> bytes:
    rows = b"".join(b"\x00" + bytes(c for x in range(SIZE) for c in _pixel(x, y)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    chunks = _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "icon.png"
    target.write_bytes(png())
    print(f"{target}: {target.stat().st_size} bytes")
