"""On-the-fly distortions of training digits, so a network trained on MNIST reads drawings too.

People draw digits rotated, squashed, slanted, off-centre, wobbly and with any pen. Each
training batch is therefore distorted afresh: a random affine map (rotation, scale,
shear, shift) and an elastic distortion (Simard, Steinkraus & Platt, 2003: a random
displacement field smoothed by a Gaussian) are combined into one displacement field and
the image is resampled once (twice would blur the strokes); then the strokes are
thickened or thinned by a random fraction of a pixel.

It is a Keras layer, active only when training, placed in front of the network in a
training-only model (``augmented``), so it runs inside the compiled train step on any
backend and the saved network stays a plain stack of Dense layers. Keras' own
``ops.image.elastic_transform`` is not used: it draws the x and y fields from the same
seed (so every distortion runs along the diagonal) and loops over the batch in Python.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from utils.mnist import IMAGE_SIDE, N_PIXELS

COARSE = 14  # elastic noise grid, per side


@dataclass(frozen=True)
class Distortions:
    """How strong each random distortion may be (uniform within ± the value)."""

    rotation_degrees: float = 12.0
    scale: float = 0.12  # relative size change
    shear: float = 0.25  # horizontal shift per unit of height: slant
    shift_pixels: float = 2.0
    elastic_alpha: float = 34.0  # Simard et al.'s values for MNIST
    elastic_sigma: float = 4.0
    thinning: float = 0.5  # up to this fraction of a 3x3 erosion...
    thickening: float = 1.0  # ...or of a 3x3 dilation (2: a 5x5 one); drawings come with any pen


class Augment(keras.layers.Layer):
    """Randomly distorts (N, 784) digits when training; passes them through otherwise."""

    def __init__(self, distortions: Distortions | None = None, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.distortions = distortions or Distortions()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training: bool | None = None):
        if not training:
            return inputs
        return distort(inputs, self.distortions, self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "seed": self.seed, **self.distortions.__dict__}


def distort(rows, settings: Distortions, seeds: keras.random.SeedGenerator):
    """One fresh random distortion per row of ``rows`` (N, 784)."""
    side = IMAGE_SIDE
    count = ops.shape(rows)[0]
    images = ops.reshape(rows, (count, side, side))

    def uniform(limit: float, shape=None):
        return keras.random.uniform(shape or (count, 1, 1), -limit, limit, seed=seeds)

    angle = uniform(math.radians(settings.rotation_degrees))
    scale = ops.exp(uniform(math.log1p(settings.scale)))
    shear = uniform(settings.shear)
    shift_x, shift_y = uniform(settings.shift_pixels), uniform(settings.shift_pixels)
    # Where each output pixel samples the input: centre + A (pixel - centre) + shift, with
    # A = rotation x shear / scale, then plus the smoothed elastic field.
    centre = (side - 1) / 2.0
    grid_y, grid_x = ops.meshgrid(ops.arange(side, dtype="float32"), ops.arange(side, dtype="float32"), indexing="ij")
    y, x = grid_y[None] - centre, grid_x[None] - centre
    cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
    x_slanted = x + shear * y
    source_x = centre + cos * x_slanted - sin * y + shift_x
    source_y = centre + sin * x_slanted + cos * y + shift_y
    if settings.elastic_alpha > 0:
        noise = uniform(1.0, (2, count, COARSE, COARSE))  # a coarse grid: drawing random numbers is the slow part
        blur = ops.convert_to_tensor(smoothing_matrix(side, COARSE, settings.elastic_sigma))
        field = settings.elastic_alpha * ops.matmul(ops.matmul(blur, noise), ops.transpose(blur))
        source_x, source_y = source_x + field[0], source_y + field[1]
    warped = sample_bilinear(images, source_y, source_x)
    if settings.thinning > 0 or settings.thickening > 0:
        amount = keras.random.uniform((count, 1, 1), -settings.thinning, settings.thickening, seed=seeds)
        warped = change_thickness(warped, amount, settings.thickening)
    return ops.reshape(ops.clip(warped, 0.0, 1.0), (count, N_PIXELS))


def smoothing_matrix(side: int, coarse: int, sigma: float) -> np.ndarray:
    """S (side x coarse) with S @ noise @ S.T = coarse white noise blurred by a Gaussian.

    Blurring i.i.d. noise on a grid ``side / coarse`` times coarser than the image gives
    the same smooth field as Simard's per-pixel noise when sigma spans several grid
    steps; the factor keeps its variance the same. Two small matrix products are ~200x
    faster under XLA on a CPU than ``ops.image.gaussian_blur``'s 2-D convolution.
    """
    step = side / coarse
    nodes = (np.arange(coarse) + 0.5) * step - 0.5
    weights = np.exp(-0.5 * ((np.arange(side)[:, None] - nodes[None, :]) / sigma) ** 2)
    fine = np.exp(-0.5 * ((np.arange(side) - side // 2) / sigma) ** 2).sum()
    return (weights * np.sqrt(step) / fine).astype(np.float32)


def sample_bilinear(images, rows, cols):
    """images[n, rows, cols] for fractional coordinates, 0 outside the image.

    ``ops.image.map_coordinates`` needs a static batch size and would also interpolate
    along the batch axis (8 gathers instead of 4).
    """
    count, height, width = ops.shape(images)[0], IMAGE_SIDE, IMAGE_SIDE
    flat = ops.reshape(images, (-1,))
    offset = ops.reshape(ops.arange(count, dtype="int32") * (height * width), (-1, 1, 1))
    top, left = ops.floor(rows), ops.floor(cols)
    down, right = rows - top, cols - left
    top, left = ops.cast(top, "int32"), ops.cast(left, "int32")

    def pixel(row, col):
        inside = (row >= 0) & (row < height) & (col >= 0) & (col < width)
        index = offset + ops.clip(row, 0, height - 1) * width + ops.clip(col, 0, width - 1)
        return ops.where(inside, ops.take(flat, index), 0.0)

    return (
        (1 - down) * (1 - right) * pixel(top, left)
        + (1 - down) * right * pixel(top, left + 1)
        + down * (1 - right) * pixel(top + 1, left)
        + down * right * pixel(top + 1, left + 1)
    )


def change_thickness(images, amount, max_amount: float = 2.0):
    """Blend towards an erosion (amount in [-1, 0)) or dilations (1: 3x3, 2: 5x5), per image."""
    stacked = images[..., None]
    thinner = -ops.max_pool(-stacked, 3, strides=1, padding="same")[..., 0]
    thicker = ops.max_pool(stacked, 3, strides=1, padding="same")[..., 0]
    changed = images + ops.relu(-amount) * (thinner - images) + ops.clip(amount, 0.0, 1.0) * (thicker - images)
    if max_amount <= 1.0:  # known when the step is traced: skip the 5x5 pass nobody asked for
        return changed
    thickest = ops.max_pool(stacked, 5, strides=1, padding="same")[..., 0]
    return changed + ops.clip(amount - 1.0, 0.0, 1.0) * (thickest - thicker)


def distorted_examples(digits: np.ndarray, copies: int, seed: int) -> np.ndarray:
    """``copies`` random distortions of each 28x28 digit, as (N, copies, 28, 28), for previews."""
    rows = np.repeat(np.asarray(digits, np.float32).reshape(-1, N_PIXELS), copies, axis=0)
    distorted = np.asarray(Augment(seed=seed)(rows, training=True))
    return distorted.reshape(len(digits), copies, IMAGE_SIDE, IMAGE_SIDE)
