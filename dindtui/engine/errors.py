"""Errors the engine raises: each carries one line a person can act on."""


class DindtuiError(Exception):
    """Base class: `str(error)` is the whole message shown to the user."""


class EngineUnreachable(DindtuiError):
    pass


class NotEnoughPrivilege(DindtuiError):
    pass


class UnknownLevel(DindtuiError):
    pass


class LevelNotReady(DindtuiError):
    pass


class NameTaken(DindtuiError):
    pass


class ImageMissing(DindtuiError):
    pass


class DiskFull(DindtuiError):
    pass


class SpawnFailed(DindtuiError):
    pass


class BuildFailed(DindtuiError):
    pass
