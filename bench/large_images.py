"""The heaviest images the app accepts, through decode + preprocessing + prediction: seconds and peak memory.

Issue 11: a valid 40-megapixel PNG took 10 s and 2.3 GB in ``python -m model predict``.
This writes worst-case *accepted* images to a temporary folder: at most
``MAX_IMAGE_PIXELS`` pixels and ``MAX_FILE_BYTES`` bytes, all 7745x5163 = 39.99 MP, each
with a 7 drawn on it: a flat PNG; RGBA PNGs (plain and Adam7-interlaced) and a 16-bit
PNG with binary noise up to 97 % of the byte cap; baseline and progressive 4:4:4 JPEGs
full of grain at the highest quality that fits; a float TIFF; a GIF; and a grainy lossy
WebP at WebP's own limit (``MAX_WEBP_PIXELS``).
Then it classifies each in a fresh process ``--repeats`` times, interleaved, with two
decoders:

- old: the decoding before issue 11 (full size, then preprocessing at full size), kept
  here as the baseline;
- new: ``utils.image_io.read_image_file`` (capped read, reduced decode).

Each child reads the file, decodes it, preprocesses it and predicts with the NumPy
network the Draw page uses; it reports the seconds that took (imports and loading the
network not counted) and its peak RSS (VmHWM; see ``peak_mb`` for why not ru_maxrss).
A ``floor`` child does the imports and loads the network only.

``--equivalence`` instead measures what the reduced decode changes: 120 digits drawn
on 12 MP canvases (5 digits, 4 sizes, 3 stroke widths, PNG and JPEG) are classified from
a full-size and from a reduced decode for each ``--sides`` long side, against the change
a half-pixel shift of the paper makes at full size.

    python -m bench.large_images [--repeats 3] [--only png-rgb-digit,jpeg-progressive-noise]
    python -m bench.large_images --equivalence [--sides 400,600,800,1000,1200,1500]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 7745, 5163  # 39.99 MP, 3:2 like a phone photo
MARGIN = 0.97  # noise is added until a file is within this fraction of the byte cap


# ---- the images ---------------------------------------------------------------------------


def draw_seven(canvas: np.ndarray, ink: int | float, size: float = 0.6, stroke: float = 0.08) -> np.ndarray:
    """A 7 with anti-aliased strokes, ``size`` of the canvas height tall, drawn in place."""
    import cv2

    height, width = canvas.shape[:2]
    side = int(size * height)
    left, top = (width - int(side * 0.7)) // 2, (height - side) // 2
    points = [(left, top), (left + int(side * 0.7), top), (left + int(side * 0.25), top + side)]
    cv2.polylines(canvas, [np.array(points, np.int32)], False, ink, max(1, int(stroke * side)), cv2.LINE_AA)
    return canvas


def noisy_rows(canvas: np.ndarray, rows: int, low: int, high: int, seed: int = 0) -> np.ndarray:
    """Binary noise (``low`` or ``high``) in the first ``rows`` rows: incompressible beyond a bit a sample."""
    rng = np.random.default_rng(seed)
    noise = np.where(rng.integers(0, 2, (rows, *canvas.shape[1:]), dtype=np.uint8) == 1, high, low)
    canvas[:rows] = noise.astype(canvas.dtype)
    return canvas


def encode(image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def fill_to_cap(make: Callable[[float], bytes], cap: int) -> bytes:
    """The largest ``make(fraction)`` under MARGIN * cap, by bisection on the noisy fraction of the image."""
    low, high, best = 0.0, 1.0, make(0.0)
    for _ in range(6):
        middle = (low + high) / 2
        data = make(middle)
        if len(data) <= MARGIN * cap:
            low, best = middle, data
        else:
            high = middle
    return best


def png_rgb_digit() -> bytes:
    from PIL import Image

    canvas = draw_seven(np.full((HEIGHT, WIDTH, 3), 250, np.uint8), (20, 20, 20))
    return encode(Image.fromarray(canvas), "PNG")


def png_rgba_noise(cap: int, interlaced: bool = False) -> bytes:
    """RGBA (the most bytes Pillow inflates a pixel to) with as much noise as fits under the cap."""
    from PIL import Image

    def make(fraction: float) -> bytes:
        canvas = np.full((HEIGHT, WIDTH, 4), 250, np.uint8)
        noisy_rows(canvas[..., :3], int(fraction * HEIGHT * 0.5), 236, 250)  # noise in half the rows is > 10 MB
        canvas = draw_seven(canvas, (20, 20, 20, 255))
        return interlaced_png(canvas) if interlaced else encode(Image.fromarray(canvas), "PNG")

    return fill_to_cap(make, cap)


def interlaced_png(rgba: np.ndarray) -> bytes:
    """An Adam7-interlaced RGBA PNG (Pillow writes none): seven passes of filter-0 rows, one IDAT."""
    height, width = rgba.shape[:2]
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = []
    for left, top, step_x, step_y in passes:
        sub = rgba[top::step_y, left::step_x]
        if sub.size:
            rows = np.zeros((sub.shape[0], 1 + sub.shape[1] * 4), np.uint8)
            rows[:, 1:] = sub.reshape(sub.shape[0], -1)
            raw.append(rows.tobytes())

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 1)  # 8-bit RGBA, interlaced
    idat = zlib.compress(b"".join(raw), 6)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def png16_digit(cap: int) -> bytes:
    from PIL import Image

    def make(fraction: float) -> bytes:
        canvas = noisy_rows(np.full((HEIGHT, WIDTH), 64000, np.uint16), int(fraction * HEIGHT), 60000, 64000)
        return encode(Image.fromarray(draw_seven(canvas, 3000)), "PNG")

    return fill_to_cap(make, cap)


def jpeg_noise(cap: int, progressive: bool) -> bytes:
    """Grain everywhere, 4:4:4 colour, and the highest quality under the cap: the most entropy-coded data."""
    from PIL import Image

    rng = np.random.default_rng(1)
    canvas = np.full((HEIGHT, WIDTH, 3), 235, np.int16)
    canvas += rng.normal(0, 6, (HEIGHT, WIDTH, 1)).astype(np.int16)
    image = Image.fromarray(draw_seven(canvas.clip(0, 255).astype(np.uint8), (20, 20, 20)))
    low, high, best = 40, 96, b""  # the highest quality whose file fits: bisection
    while high - low > 1:
        quality = (low + high) // 2
        data = encode(image, "JPEG", quality=quality, subsampling=0, progressive=progressive)
        low, high, best = (quality, high, data) if len(data) <= MARGIN * cap else (low, quality, best)
    return best


def webp_noise(cap: int) -> bytes:
    """Lossy WebP, the JPEG's grain at q90, as large as WebP is accepted (MAX_WEBP_PIXELS, 3:2).

    Pillow has no reduced decoding for WebP, and decodes it through full-size RGBA
    canvases, so WebP has its own, lower pixel limit.
    """
    from PIL import Image

    from utils.image_io import MAX_WEBP_PIXELS

    height = int((MAX_WEBP_PIXELS / 1.5) ** 0.5)
    width = MAX_WEBP_PIXELS // height
    rng = np.random.default_rng(1)
    canvas = np.full((height, width, 3), 235, np.int16)
    canvas += rng.normal(0, 6, (height, width, 1)).astype(np.int16)
    image = Image.fromarray(draw_seven(canvas.clip(0, 255).astype(np.uint8), (20, 20, 20)))
    for quality in (90, 80, 70):  # an encode takes 5-10 s: no bisection
        data = encode(image, "WEBP", quality=quality)
        if len(data) <= MARGIN * cap:
            break
    return data


def tiff_float_digit() -> bytes:
    from PIL import Image

    canvas = draw_seven(np.full((HEIGHT, WIDTH), 0.95, np.float32), 0.05)
    return encode(Image.fromarray(canvas, "F"), "TIFF", compression="tiff_adobe_deflate")


def gif_digit() -> bytes:
    from PIL import Image

    canvas = draw_seven(np.full((HEIGHT, WIDTH), 250, np.uint8), 20)
    return encode(Image.fromarray(canvas).convert("P"), "GIF")


def image_makers(cap: int) -> dict[str, Callable[[], bytes]]:
    return {
        "png-rgb-digit": png_rgb_digit,
        "png-rgba-noise": lambda: png_rgba_noise(cap),
        "png-rgba-noise-interlaced": lambda: png_rgba_noise(cap, interlaced=True),
        "png16-noise": lambda: png16_digit(cap),
        "jpeg-baseline-noise": lambda: jpeg_noise(cap, progressive=False),
        "jpeg-progressive-noise": lambda: jpeg_noise(cap, progressive=True),
        "webp-noise": lambda: webp_noise(cap),
        "tiff-float-digit": tiff_float_digit,
        "gif-digit": gif_digit,
    }


# ---- the decoders ---------------------------------------------------------------------------


def old_read_image_file(path: str) -> np.ndarray:
    """``utils.image_io.read_image_file`` before issue 11: whole file, full-size decode."""
    from PIL import Image, ImageOps

    from utils.image_io import MAX_IMAGE_PIXELS

    with Image.open(io.BytesIO(Path(path).read_bytes())) as image:
        if image.size[0] * image.size[1] > MAX_IMAGE_PIXELS:
            raise ValueError("too large")
        image.seek(0)
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in ("L", "RGB", "RGBA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
            has_alpha = upright.mode in ("LA", "PA", "RGBa", "La") or "transparency" in upright.info
            upright = upright.convert("RGBA" if has_alpha else "RGB")
        return np.asarray(upright)


def new_read_image_file(path: str) -> np.ndarray:
    from utils.image_io import read_image_file

    return read_image_file(path)


DECODERS = {"old": old_read_image_file, "new": new_read_image_file}


def child(decoder: str, path: str) -> None:
    """Classify one file as ``python -m model predict`` does, with the Draw page's NumPy network."""
    from model.net.inference import predict_probabilities
    from model.storage.dense_file import read_dense_network
    from model.storage.store import ModelStore
    from utils.preprocess import preprocess_digit

    network = read_dense_network(ModelStore().get("default").path)
    started = decoded = time.perf_counter()
    digit = None
    if decoder != "floor":
        picture = DECODERS[decoder](path)
        decoded = time.perf_counter()
        ink = preprocess_digit(picture)
        digit = None if ink is None else int(predict_probabilities(network, ink).argmax())
    finished = time.perf_counter()
    result = {"seconds": finished - started, "decode_seconds": decoded - started, "digit": digit, "peak_mb": peak_mb()}
    print("RESULT " + json.dumps(result), flush=True)


def peak_mb() -> float:
    """This process's peak RSS since exec (VmHWM).

    Not ru_maxrss: Linux carries the parent's RSS at fork into the child's ru_maxrss
    across exec, so every child of this bench, which holds 40 MP images, would report
    at least the parent's size (RUSAGE_CHILDREN too: it is the maximum over children).
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_child(decoder: str, path: str) -> dict:
    """One fresh process: what it measured, and its whole wall time (start and imports included)."""
    command = [sys.executable, "-m", "bench.large_images", "--child", decoder, path]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{decoder} {path} failed:\n{done.stderr[-3000:]}")
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]) | {"process_seconds": time.perf_counter() - started}


# ---- the comparison ---------------------------------------------------------------------------


def make_images(folder: Path, names: list[str]) -> dict[str, Path]:
    from PIL import Image

    from utils.image_io import MAX_FILE_BYTES

    makers = image_makers(MAX_FILE_BYTES)
    paths = {}
    for name in names:
        started = time.perf_counter()
        data = makers[name]()
        path = folder / f"{name}.{Image.open(io.BytesIO(data)).format.lower()}"
        path.write_bytes(data)
        paths[name] = path
        with Image.open(path) as image:
            size, mode = image.size, image.mode
        print(
            f"made {path.name}: {size[0]}x{size[1]} {mode}, {len(data) / 2**20:.2f} MB "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return paths


def table_row(*cells: object) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def compare(paths: dict[str, Path], repeats: int) -> None:
    """Every image with both decoders, interleaved (name by name, old then new), ``repeats`` rounds."""
    runs: dict[tuple[str, str], list[dict]] = {}
    floor = [run_child("floor", "-") for _ in range(repeats)]
    for repeat in range(repeats):
        for name, path in paths.items():
            for decoder in DECODERS:
                result = run_child(decoder, str(path))
                runs.setdefault((name, decoder), []).append(result)
                print(
                    f"run {repeat + 1} {name:26s} {decoder}: {result['seconds']:6.2f} s "
                    f"(decode {result['decode_seconds']:.2f} s), "
                    f"peak RSS {result['peak_mb']:5.0f} MB, digit {result['digit']}",
                    flush=True,
                )
    print(
        f"\nfloor (imports + network, no image): peak RSS {max(r['peak_mb'] for r in floor):.0f} MB, "
        f"whole process {statistics.median(r['process_seconds'] for r in floor):.2f} s\n"
    )
    print_comparison(paths, runs, repeats)


def print_comparison(paths: dict[str, Path], runs: dict[tuple[str, str], list[dict]], repeats: int) -> None:
    header = ["image", "file", "old: median s", "old: peak RSS", "new: median s (min-max)", "new: of which decoding",
              "new: peak RSS", "old/new time", "digit old / new"]  # fmt: skip
    print(table_row(*header))
    print(table_row(*["---"] * len(header)))
    for name, path in paths.items():
        old, new = runs[(name, "old")], runs[(name, "new")]
        old_s = statistics.median(r["seconds"] for r in old)
        new_all = sorted(r["seconds"] for r in new)
        new_s, new_decode = statistics.median(new_all), statistics.median(r["decode_seconds"] for r in new)
        old_mb, new_mb = (max(r["peak_mb"] for r in side) for side in (old, new))
        print(
            table_row(
                name,
                f"{path.stat().st_size / 2**20:.2f} MB",
                f"{old_s:.2f}",
                f"{old_mb:,.0f} MB",
                f"**{new_s:.2f}** ({new_all[0]:.2f}-{new_all[-1]:.2f})",
                f"{new_decode:.2f}",
                f"**{new_mb:,.0f} MB**",
                f"{old_s / new_s:.1f}x",
                f"{old[0]['digit']} / {new[0]['digit']}",
            )
        )
    slowest = max(statistics.median(r["process_seconds"] for r in runs[(name, "new")]) for name in paths)
    print(f"\nmedians of {repeats}; peak RSS the largest of {repeats}.")
    print(f"new decoder, slowest whole process (start, imports, network, image): {slowest:.2f} s (median)")


# ---- what the reduced decode changes -----------------------------------------------------------------


DIGIT_STROKES = {  # polylines in a unit box (x right, y down); the 0 is an ellipse
    "7": [(0.1, 0.05), (0.9, 0.05), (0.35, 1.0)],
    "1": [(0.45, 0.15), (0.6, 0.0), (0.6, 1.0)],
    "4": [(0.7, 1.0), (0.7, 0.0), (0.05, 0.7), (0.95, 0.7)],
    "2": [(0.1, 0.25), (0.3, 0.02), (0.7, 0.02), (0.9, 0.25), (0.85, 0.45), (0.1, 1.0), (0.95, 1.0)],
    "0": [],
}


def photo_of_digit(width: int, height: int, digit: str, size: float, stroke: float, seed: int = 0) -> np.ndarray:
    """Dark ink on grainy light paper: ``size`` of the short side tall, strokes ``stroke`` of that."""
    import cv2

    rng = np.random.default_rng(seed)
    paper = (235 + rng.normal(0, 4, (height, width))).clip(0, 255).astype(np.uint8)
    side = int(size * min(width, height))
    thickness = max(1, int(stroke * side))
    if digit == "0":
        axes = (int(side * 0.3), int(side * 0.48))
        cv2.ellipse(paper, (width // 2, height // 2), axes, 0, 0, 360, 30, thickness, cv2.LINE_AA)
        return paper
    left, top = (width - side * 0.7) / 2, (height - side) / 2
    points = np.array([(left + x * side * 0.7, top + y * side) for x, y in DIGIT_STROKES[digit]], np.int32)
    cv2.polylines(paper, [points], False, 30, thickness, cv2.LINE_AA)
    return paper


SHIFTED = "full size, paper moved half a pixel"


def equivalence(sides: list[int], width: int, height: int) -> None:
    """For each long side: classes changed, the largest change of a probability, and of the 28x28 input."""
    from model.storage.dense_file import read_dense_network
    from model.storage.store import ModelStore

    network = read_dense_network(ModelStore().get("default").path)
    changes: dict[str, list[tuple[bool, float, float, float]]] = {str(side): [] for side in sides} | {SHIFTED: []}
    for fmt in ("PNG", "JPEG"):
        for digit in DIGIT_STROKES:
            for size in (0.04, 0.1, 0.3, 0.9):
                for stroke in (0.03, 0.08, 0.15):
                    paper = photo_of_digit(width, height, digit, size, stroke)
                    for key, change in changes_of_one(network, paper, fmt, sides).items():
                        changes[key].append(change)
    count, total = len(changes[SHIFTED]), 2 * len(DIGIT_STROKES) * 4 * 3
    blank = f" ({total - count} more found blank even at full size)" if count < total else ""
    print(f"\n{count} drawings on {width}x{height} paper{blank}, compared with their full-size decode:\n")
    header = ["decoded at long side", "classes changed", "largest probability change",
              "28x28 mean abs change (median / max)", "28x28 max abs change (max)"]  # fmt: skip
    print(table_row(*header))
    print(table_row(*["---"] * len(header)))
    for key, rows in changes.items():
        changed, prob, mean, peak = (np.array(column) for column in zip(*rows, strict=True))
        median_mean = f"{np.median(mean):.3f} / {mean.max():.3f}"
        print(table_row(key, int(changed.sum()), f"{prob.max():.4f}", median_mean, f"{peak.max():.2f}"))


def changes_of_one(
    network, paper: np.ndarray, fmt: str, sides: list[int]
) -> dict[str, tuple[bool, float, float, float]]:
    """(class changed, largest probability change, mean and max change of the 28x28) per long side, and shifted."""
    import cv2
    from PIL import Image

    from model.net.inference import predict_probabilities
    from utils.image_io import decode_image
    from utils.preprocess import preprocess_digit

    data = encode(Image.fromarray(paper), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    full = preprocess_digit(decode_image(data, long_side=None))
    if full is None:  # too small or faint to be found even at full size: nothing to compare
        return {}
    height, width = paper.shape
    moved = cv2.warpAffine(
        paper, np.float32([[1, 0, 0.5], [0, 1, 0.5]]), (width, height), borderMode=cv2.BORDER_REPLICATE
    )
    others = {str(side): preprocess_digit(decode_image(data, long_side=side)) for side in sides}
    others[SHIFTED] = preprocess_digit(moved)
    p_full = predict_probabilities(network, full)
    changes = {}
    for key, other in others.items():
        if other is None:  # lost: the worst change there is
            changes[key] = (True, 1.0, 1.0, 1.0)
            continue
        p_other = predict_probabilities(network, other)
        difference = np.abs(other - full)
        changed = int(p_other.argmax()) != int(p_full.argmax())
        changes[key] = (
            changed,
            float(np.abs(p_other - p_full).max()),
            float(difference.mean()),
            float(difference.max()),
        )
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", help="comma-separated image names (default: all)")
    parser.add_argument("--equivalence", action="store_true", help="measure what the reduced decode changes instead")
    parser.add_argument("--sides", default="400,600,800,1000,1200,1500", help="long sides for --equivalence")
    parser.add_argument("--paper", default="4000x3000", help="canvas size for --equivalence")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if args.equivalence:
        width, height = (int(side) for side in args.paper.split("x"))
        equivalence([int(side) for side in args.sides.split(",")], width, height)
        return
    names = args.only.split(",") if args.only else list(image_makers(0))
    with tempfile.TemporaryDirectory(prefix="large-images-") as folder:
        compare(make_images(Path(folder), names), args.repeats)


if __name__ == "__main__":
    main()
