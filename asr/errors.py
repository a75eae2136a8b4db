"""Error types the library raises for problems a user can fix.

The CLI catches `AsrError` and prints `error: <message>` with exit status 1
(2 for a `UsageError`); anything else is a bug and keeps its traceback.
"""


class AsrError(Exception):
    """An expected failure whose message says what happened and what to do."""


class AudioError(AsrError):
    """An audio file cannot be read (missing, empty, corrupt, not audio)."""


class ManifestError(AsrError):
    """A manifest file or line is malformed."""


class ConfigError(AsrError):
    """Settings are unknown, mistyped or out of range."""


class CheckpointError(AsrError):
    """A checkpoint is missing, unsafe, corrupt or of an unknown version."""


class UsageError(AsrError):
    """The command line names something that does not exist or leaves out what is required:
    an unknown corpus, recipe or corpus option, a missing --src (exit status 2)."""
