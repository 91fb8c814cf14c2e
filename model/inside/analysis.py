"""What a trained network gets wrong: confusion matrix and the misclassified digits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from utils.mnist import IMAGE_SIDE, N_CLASSES


@dataclass(frozen=True)
class Mistake:
    index: int  # position in the test set
    true_digit: int
    predicted_digit: int
    confidence: float
    image: np.ndarray  # 28x28 float32


def confusion_matrix(true_digits: np.ndarray, predicted_digits: np.ndarray) -> np.ndarray:
    """10x10 counts; row = true digit, column = predicted digit."""
    matrix = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(matrix, (np.asarray(true_digits, int), np.asarray(predicted_digits, int)), 1)
    return matrix


def worst_mistakes(rows: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, limit: int = 30) -> list[Mistake]:
    """Misclassified digits, the most confidently wrong first (the most instructive ones)."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return [
        Mistake(
            int(i),
            int(labels[i]),
            int(predicted[i]),
            float(probabilities[i, predicted[i]]),
            rows[i].reshape(IMAGE_SIDE, IMAGE_SIDE),
        )
        for i in order
    ]
