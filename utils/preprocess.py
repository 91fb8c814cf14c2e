"""Turn any picture of a digit into the 28x28 input MNIST digits were made as.

MNIST's recipe (LeCun et al.): the digit's bounding box is scaled to fit 20x20 keeping
its aspect ratio, with anti-aliasing, then placed in a 28x28 field so that its centre of
mass sits at the centre. Users draw white on black on the canvas, but photos of paper
are dark on light, so polarity is judged from the border before anything else.

Version 2 also drops specks (stray dots far smaller than the digit) before taking the
bounding box, straightens slanted digits (deskewing by image moments) and brings stroke
widths outside MNIST's usual range into it (a fat pen on a small digit). The same
steps are applied to MNIST's own images before training (``mnist_as_trained``), so the
network learns from what it will be shown. Each model records the version it was
trained with and is always fed through that version, so older models keep working.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from utils.errors import ImageError, ModelStorageError
from utils.i18n import N_, Message
from utils.mnist import IMAGE_SIDE, N_PIXELS

MNIST_SIDE = IMAGE_SIDE
DIGIT_BOX = 20
CENTRE = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates
MIN_CONTRAST = 0.15  # ink must differ from the background by this much (of full scale)
NOISE_FLOOR = 0.2  # ink levels below this fraction of the contrast are paper or noise
SPECK_FRACTION = 0.03  # ink blobs smaller than this share of all ink are specks, not strokes
MNIST_WIDTH_RANGE = (1.6, 3.7)  # stroke widths of 90 % of MNIST digits, in 20-pixel-box pixels
MAX_SKEW = 1.0  # horizontal shift per unit of height: 45 degrees of slant at most


@dataclass(frozen=True)
class Recipe:
    """Which optional steps a preprocessing version takes."""

    drop_specks: bool = False
    deskew: bool = False
    clamp_width: bool = False

    def steps(self) -> list[Message]:
        """The steps in order, as the Draw page tells them."""
        optional = [
            (self.drop_specks, N_("stray dots dropped")),
            (self.deskew, N_("slant straightened")),
            (self.clamp_width, N_("stroke width brought into MNIST's range")),
        ]
        steps = [
            N_("cropped to the ink"),
            *(step for wanted, step in optional if wanted),
            N_("scaled to fit 20x20"),
            N_("centred by mass in 28x28"),
        ]
        return [Message(step) for step in steps]


LEGACY_PREPROCESSING = "mnist-box20-com28-v1"  # also what models saved without a record used
PREPROCESSING_VERSION = "mnist-despeck-deskew-width-box20-com28-v2"  # what new models are trained with
RECIPES = {
    LEGACY_PREPROCESSING: Recipe(),
    PREPROCESSING_VERSION: Recipe(drop_specks=True, deskew=True, clamp_width=True),
}


def recipe_for(version: str) -> Recipe:
    try:
        return RECIPES[version]
    except KeyError:
        raise ModelStorageError(
            Message(
                N_("unknown preprocessing {version}; this version of the app knows {known}"),
                version=repr(version),
                known=list(RECIPES),
            )
        ) from None


def preprocess_digit(image: np.ndarray, version: str = PREPROCESSING_VERSION) -> np.ndarray | None:
    """Return the 28x28 float32 MNIST-style input, or None when nothing is drawn.

    Accepts a grayscale (H, W) array, or (H, W, C) with 1, 3 (RGB) or 4 (RGBA) channels,
    of any numeric dtype. Raises ImageError for anything that is not an image.
    """
    recipe = recipe_for(version)
    ink = ink_map(to_luminance(image))
    return None if ink is None else digit_from_ink(ink, recipe)


def digit_from_ink(ink: np.ndarray, recipe: Recipe) -> np.ndarray | None:
    """White-on-black ink levels (any size) to the 28x28 input; None if there is no ink."""
    if recipe.drop_specks:
        ink = drop_specks(ink)
    crop = crop_to_ink(ink)
    if crop is not None and recipe.deskew:
        crop = crop_to_ink(deskew(crop))
    if crop is not None and recipe.clamp_width:
        crop = crop_to_ink(clamp_stroke_width(crop))
    if crop is None:
        return None
    return centre_by_mass(fit_to_box(crop, DIGIT_BOX), MNIST_SIDE)


def mnist_as_trained(images: np.ndarray, version: str = PREPROCESSING_VERSION) -> np.ndarray:
    """MNIST's uint8 28x28 images as (N, 784) rows, each through exactly the drawing path.

    The legacy version fed MNIST as it is (MNIST already is box-20, centre-of-mass 28).
    """
    images = np.asarray(images)
    rows = images.reshape(len(images), N_PIXELS).astype(np.float32) / np.float32(255.0)
    if recipe_for(version) == Recipe():
        return rows
    for index, image in enumerate(images):
        digit = preprocess_digit(image, version)
        rows[index] = 0.0 if digit is None else digit.ravel()
    return rows


def to_luminance(image: np.ndarray) -> np.ndarray:
    """Any supported array to a float32 (H, W) luminance map in [0, 1]."""
    try:
        array = np.asarray(image)
    except (ValueError, TypeError) as error:  # ragged nested lists and the like
        raise ImageError(Message(N_("not an image array ({reason})"), reason=str(error))) from error
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        problem = N_("expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {shape}")
        raise ImageError(Message(problem, shape=str(array.shape)))
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(Message(N_("the image is empty (shape {shape})"), shape=str(array.shape)))
    scaled = _to_unit_range(array)
    if scaled.ndim == 2:
        return scaled
    rgb = scaled[:, :, :3]
    luminance = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if scaled.shape[2] == 4:
        luminance = _composite_alpha(luminance, scaled[:, :, 3])
    return luminance


def _to_unit_range(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        if info.min == 0:
            return (array.astype(np.float32) / np.float32(info.max)).astype(np.float32)
        array = array.astype(np.float64)
    elif not np.issubdtype(array.dtype, np.floating):
        raise ImageError(Message(N_("pixel values must be numbers, got dtype {dtype}"), dtype=str(array.dtype)))
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ImageError(Message(N_("the image contains NaN or infinite values")))
    low, high = float(array.min()), float(array.max())
    if low >= 0.0 and high <= 1.0:
        return array.astype(np.float32)
    if high - low == 0.0:
        return np.zeros(array.shape, np.float32)
    half_span = high / 2 - low / 2  # halves first: the full span of float64 overflows
    return ((array / 2 - low / 2) / half_span).astype(np.float32)


def _composite_alpha(luminance: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Flatten transparency onto a backdrop that contrasts with the opaque pixels.

    The canvas is opaque everywhere, so this is a no-op there; a transparent PNG of dark
    ink lands on white and one of light ink on black, so the ink stays visible.
    """
    if alpha.min() == alpha.max():
        return luminance
    opaque = alpha > 0.5
    backdrop = 1.0 if opaque.any() and np.median(luminance[opaque]) < 0.5 else 0.0
    return (luminance * alpha + backdrop * (1.0 - alpha)).astype(np.float32)


def ink_map(luminance: np.ndarray) -> np.ndarray | None:
    """White-on-black ink levels in [0, 1] with paper and noise set to 0; None if blank.

    The background is the median of the border; if it is light, the image is inverted.
    """
    background = float(np.median(_border(luminance)))
    ink = 1.0 - luminance if background > 0.5 else luminance
    background = min(background, 1.0 - background)
    peak = float(cv2.GaussianBlur(ink, (3, 3), 0).max()) if min(ink.shape) >= 3 else float(ink.max())
    if peak - background < MIN_CONTRAST:
        return None
    level = np.clip((ink - background) / (peak - background), 0.0, 1.0).astype(np.float32)
    level[level < NOISE_FLOOR] = 0.0
    return level


def _border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0, :], image[-1, :], image[:, 0], image[:, -1]])


def drop_specks(ink: np.ndarray) -> np.ndarray:
    """Erase connected blobs holding less than SPECK_FRACTION of the ink; keep the largest."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink > 0).astype(np.uint8), connectivity=8)
    if count <= 2:  # background and at most one blob
        return ink
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = areas >= SPECK_FRACTION * areas.sum()
    keep[int(np.argmax(areas))] = True
    if keep.all():
        return ink
    return np.where(np.concatenate([[False], keep])[labels], ink, 0.0).astype(np.float32)


def deskew(crop: np.ndarray) -> np.ndarray:
    """Shear so the ink's principal axis is upright (Bottou/LeCun-style moment deskewing).

    The skew mu11/mu02 is how far x moves per unit of y; shifting each row back by it
    about the centre of mass makes the second moments uncorrelated. The result is wider
    than the input so nothing is cut off.
    """
    moments = cv2.moments(crop)
    if moments["m00"] <= 0 or moments["mu02"] <= 1e-3 * moments["m00"]:
        return crop
    skew = float(np.clip(moments["mu11"] / moments["mu02"], -MAX_SKEW, MAX_SKEW))
    height, width = crop.shape
    margin = int(np.ceil(abs(skew) * height)) + 1
    centre_row = moments["m01"] / moments["m00"]
    shear = np.array([[1.0, -skew, skew * centre_row + margin], [0.0, 1.0, 0.0]], np.float32)
    return cv2.warpAffine(crop, shear, (width + 2 * margin, height), flags=cv2.INTER_LINEAR)


def stroke_width(crop: np.ndarray) -> float:
    """Mean stroke width in pixels: twice the ink area over the length of all its outlines."""
    solid = (crop >= 0.5).astype(np.uint8)
    outlines, _ = cv2.findContours(solid, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    length = sum(cv2.arcLength(outline, True) for outline in outlines)
    return 2.0 * float(solid.sum()) / length if length else 0.0


def clamp_stroke_width(crop: np.ndarray) -> np.ndarray:
    """Erode strokes thicker, or dilate strokes thinner, than MNIST's (5th-95th percentile).

    Widths are compared as they will be in the 20-pixel box; strokes within MNIST's
    range are left alone, so MNIST's own digits barely change.
    """
    scale = DIGIT_BOX / max(crop.shape)
    width = stroke_width(crop) * scale
    if width <= 0:
        return crop
    target = min(max(width, MNIST_WIDTH_RANGE[0]), MNIST_WIDTH_RANGE[1])
    radius = round(abs(width - target) / scale / 2)
    if radius < 1:
        return crop
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    if width > target:
        return cv2.erode(crop, kernel)
    padded = cv2.copyMakeBorder(crop, radius, radius, radius, radius, cv2.BORDER_CONSTANT, value=0)
    return cv2.dilate(padded, kernel)


def crop_to_ink(ink: np.ndarray) -> np.ndarray | None:
    box = ink_bounding_box(ink)
    if box is None:
        return None
    top, bottom, left, right = box
    return ink[top:bottom, left:right]


def ink_bounding_box(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), end-exclusive, of all non-zero pixels; None if none."""
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def fit_to_box(crop: np.ndarray, side: int) -> np.ndarray:
    """Scale so the longer side is ``side`` px, keeping aspect ratio; area-averaging anti-aliases."""
    height, width = crop.shape
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return np.clip(cv2.resize(crop, size, interpolation=interpolation), 0.0, 1.0)


def centre_by_mass(patch: np.ndarray, side: int) -> np.ndarray:
    """Paste ``patch`` into a side x side field with its centre of mass at MNIST's centre."""
    total = float(patch.sum())
    rows, cols = np.indices(patch.shape)
    mass_row = float((rows * patch).sum()) / total if total else (patch.shape[0] - 1) / 2
    mass_col = float((cols * patch).sum()) / total if total else (patch.shape[1] - 1) / 2
    centre = CENTRE * side / MNIST_SIDE
    top, left = round(centre - mass_row), round(centre - mass_col)
    field = np.zeros((side, side), np.float32)
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(patch.shape[0] - src_top, side - dst_top)
    width = min(patch.shape[1] - src_left, side - dst_left)
    if height > 0 and width > 0:
        field[dst_top : dst_top + height, dst_left : dst_left + width] = patch[
            src_top : src_top + height, src_left : src_left + width
        ]
    return field


def as_model_input(digit: np.ndarray) -> np.ndarray:
    """A 28x28 digit (or a batch of them) as the (N, 784) float32 rows the network takes."""
    digit = np.asarray(digit, dtype=np.float32)
    return digit.reshape(-1, N_PIXELS)
