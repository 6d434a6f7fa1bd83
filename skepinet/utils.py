"""Small helpers shared across skepinet's modules (as ``sklearn.utils``)."""

import os

__all__ = ["fsync_folder"]


def fsync_folder(folder):
    """Flush a folder's entries to disk, so a rename or a new file survives a power cut.

    Parameters
    ----------
    folder : str or path-like
        A no-op where folders cannot be opened (Windows).
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
