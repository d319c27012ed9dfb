"""kcolor's error classes.

Every error kcolor raises about its inputs (files, settings, servers) is a
:class:`KcolorError`; the ``kcolor`` command prints these as one line naming the file and
the problem, and shows a traceback for anything else (a bug). Each class also derives
from the built-in error it refines, so ``except ValueError`` keeps working.
"""


class KcolorError(Exception):
    """An error about kcolor's inputs; the message names the file or setting and says why."""


class ConfigError(KcolorError, ValueError):
    """A setting, argument or data source is not usable as given."""


class ImageReadError(KcolorError, ValueError):
    """An input could not be read as an image; the message names it and says why."""


class ImageTooLarge(ImageReadError):
    """An input declares more pixels than the limit; nothing of it was decoded."""


class ModelFileError(KcolorError, ValueError):
    """A model file or bundled weights file cannot be loaded as a kcolor model."""


class ExportError(KcolorError, ValueError):
    """An export cannot be written as asked; the message says why."""


class ConversionError(KcolorError, RuntimeError):
    """The model could not be converted as asked; the message says why."""


class TrainingDiverged(KcolorError, RuntimeError):
    """A training run's loss stopped being finite; the message says where."""


class ServingError(KcolorError, RuntimeError):
    """The server refused or failed a request; the message is the server's."""
