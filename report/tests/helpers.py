"""Helpers for the report tests: PNG parsing with zlib only, headless Chromium, running the CLI."""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "report", "make_report.py")

if REPO not in sys.path:
    sys.path.insert(0, REPO)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def fixture(name):
    return os.path.join(FIXTURES, name)


def run_cli(*args, timeout=300):
    """Run make_report.py with this interpreter; returns CompletedProcess (text)."""
    return subprocess.run([sys.executable, SCRIPT, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def _chunks(data):
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file (bad signature)")
    pos = 8
    while pos < len(data):
        length, = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in {kind!r} chunk")
        yield kind, body
        pos += 12 + length


def png_header(path):
    """(width, height, bit_depth, color_type) from the IHDR chunk, after checking signature and CRCs."""
    with open(path, "rb") as f:
        data = f.read()
    chunks = list(_chunks(data))
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("PNG must start with IHDR and end with IEND")
    w, h, depth, ctype, _, _, _ = struct.unpack(">IIBBBBB", chunks[0][1])
    return w, h, depth, ctype


def png_pixels(path):
    """Decode an 8-bit, non-interlaced grey/RGB/RGBA PNG into (width, height, channels, rows)."""
    with open(path, "rb") as f:
        data = f.read()
    ihdr, idat = None, bytearray()
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    raw = zlib.decompress(bytes(idat))
    stride = w * channels
    rows, prev = [], bytes(stride)
    bpp = channels
    for y in range(h):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 1:        # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif ftype == 2:      # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif ftype == 3:      # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif ftype == 4:      # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif ftype != 0:
            raise ValueError(f"bad filter type {ftype} in row {y}")
        rows.append(bytes(line))
        prev = line
    return w, h, channels, rows


def pixel_stats(path):
    """(variance of the grey level, fraction of pixels that are not near-white) of a PNG."""
    w, h, ch, rows = png_pixels(path)
    n = 0
    s = s2 = 0
    non_white = 0
    for row in rows:
        for x in range(0, w * ch, ch):
            g = row[x] if ch < 3 else (row[x] + row[x + 1] + row[x + 2]) // 3
            n += 1
            s += g
            s2 += g * g
            if g < 240:
                non_white += 1
    mean = s / n
    return s2 / n - mean * mean, non_white / n


def find_chromium():
    """$HPCB_CHROMIUM when set (and only it), else the usual Debian names."""
    if "HPCB_CHROMIUM" in os.environ:
        cands = (os.environ["HPCB_CHROMIUM"],)
    else:
        cands = ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
    for cand in cands:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium(browser, url, *extra, timeout=120):
    """Run headless Chromium on `url` with a throw-away profile; returns CompletedProcess."""
    profile = tempfile.mkdtemp(prefix="hpcb-chromium-")
    try:
        return subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
                              capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def console_lines(stderr):
    """Lines Chromium logs for page console messages and uncaught script errors."""
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]


def first_record(name="runs.jsonl"):
    """The first record of a fixture as a dict, to derive variants from."""
    with open(fixture(name)) as f:
        return json.loads(f.readline())
