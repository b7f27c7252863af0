#!/usr/bin/env python3
"""zxing-cpp on a folder tree of Data Matrix images with expected texts: the reference side of
`tally bench-decode` (BENCHMARKS.md, "Data Matrix images side by side").

Prints one JSON line per image: {"image", "read", "decode_ms"}. `read` is true when a decoded
symbol's bytes equal the expected `<stem>.bin`, or its plain text equals `<stem>.txt`. Only the
decode is timed (the image already loaded and grey), as on Tally's side.

    pip install zxing-cpp pillow
    python3 drivers/benches/zxingcpp_datamatrix.py ../shared/datasets/datamatrix > zxing-cpp.jsonl
"""
import json
import pathlib
import statistics
import sys
import time

import zxingcpp
from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".pgm"}
ROUNDS = 5


def expected(image):
    binary = image.with_suffix(".bin")
    if binary.exists():
        return binary.read_bytes()
    text = image.with_suffix(".txt")
    return text.read_bytes() if text.exists() else None


def matches(barcode, want):
    return barcode.bytes == want or barcode.text.encode("utf-8") == want


def main(root):
    images = sorted(
        p for p in pathlib.Path(root).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES
    )
    times = []
    for image in images:
        want = expected(image)
        if want is None:
            continue
        grey = Image.open(image).convert("L")
        grey.load()
        best = None
        found = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            found = zxingcpp.read_barcodes(
                grey,
                formats=zxingcpp.BarcodeFormat.DataMatrix,
                text_mode=zxingcpp.TextMode.Plain,
            )
            elapsed = (time.perf_counter() - started) * 1000.0
            best = elapsed if best is None else min(best, elapsed)
        read = any(matches(b, want) for b in found)
        times.append(best)
        print(json.dumps({"image": str(image.relative_to(root)), "read": read, "decode_ms": round(best, 3)}))
    print(
        f"zxing-cpp {getattr(zxingcpp, '__version__', '?')}: {len(times)} images, "
        f"median {statistics.median(times):.3f} ms",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/datamatrix"))
