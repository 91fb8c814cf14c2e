"""Numbers in sentences for people: '1 epoch', '3 epochs', never 'epoch(s)'."""

from __future__ import annotations


def counted(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else plural or word + 's'}"
