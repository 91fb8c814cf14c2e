"""One family of errors whose messages are written for people.

Pages and the CLI catch ``LabError`` and show its message; anything else is a bug and
is allowed to surface as one. Each module raises the subclass that names its domain.
"""

from __future__ import annotations

from utils.i18n import Message, as_message


class LabError(Exception):
    """Base of every error the app expects and explains to the user.

    It carries a ``Message`` (``raise ImageError(Message(N_("{name} is empty"), name=label))``):
    ``str()`` is English, for logs and the CLI; pages show ``say(error)`` in the reader's language.
    """

    def __init__(self, message: Message | str, *args: object) -> None:
        super().__init__(message, *args)
        self.message: Message = as_message(message)

    def __str__(self) -> str:
        return str(self.message)


class SettingsError(LabError):
    """An environment setting has a value the app cannot use."""


class ConfigError(LabError):
    """A training setting is out of range or of the wrong kind."""


class ImageError(LabError):
    """An image (file, upload or array) that cannot be read as a digit picture."""


class MnistError(LabError):
    """MNIST could not be loaded: a bad local file, or no download possible."""


class ModelStorageError(LabError):
    """A model cannot be listed, saved, loaded, made active or deleted."""
