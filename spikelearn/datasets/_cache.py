"""Where spikelearn keeps downloaded and generated data, and how it downloads it."""

import os
from pathlib import Path

import pooch

from spikelearn.errors import DataError

#: Environment variable that overrides the default data folder.
DATA_ENV = "SPIKELEARN_DATA"


def data_dir(cache_dir=None):
    """Return the data folder, creating it if needed.

    Parameters
    ----------
    cache_dir : str or path-like, optional
        Explicit folder. When None, ``$SPIKELEARN_DATA`` is used if set, else
        ``pooch.os_cache("spikelearn")`` (e.g. ``~/.cache/spikelearn`` on Linux).

    Returns
    -------
    pathlib.Path
    """
    if cache_dir is None:
        cache_dir = os.environ.get(DATA_ENV) or pooch.os_cache("spikelearn")
    path = Path(cache_dir).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def retrieve(url, sha256, *, fname, folder, description, progress=True):
    """Download ``url`` to ``folder/fname`` through pooch, checking its pinned SHA-256.

    A file already there with the right hash is returned without any request; one with
    another hash is downloaded again.

    Parameters
    ----------
    url : str
    sha256 : str
        Expected SHA-256 (64 hex digits) of the file.
    fname : str
        File name inside ``folder``.
    folder : path-like
        Destination folder (created if needed).
    description : str
        What is downloaded, for the progress bar and the error messages
        (e.g. ``"Speech Commands archive"``).
    progress : bool, optional
        Show a download progress bar.

    Returns
    -------
    pathlib.Path
        The verified local file.

    Raises
    ------
    DataError
        The download failed, or the file failed its checksum (it is not kept).
    """
    bar = _RichDownloadBar(description) if progress else False
    try:
        path = pooch.retrieve(
            url, known_hash=f"sha256:{sha256}", fname=fname, path=folder, progressbar=bar
        )
    except ValueError as err:  # pooch's hash mismatch
        raise DataError(
            f"{description} from {url} failed its checksum (expected SHA-256 {sha256}); "
            f"the download was discarded. Details: {err}"
        ) from err
    except OSError as err:  # requests / network errors derive from OSError
        raise DataError(f"could not download {description} from {url}: {err}") from err
    finally:
        if bar:
            bar.close()  # pooch closes it after a download, not when it finds the file
    return Path(path)


class _RichDownloadBar:
    """The progress-bar protocol pooch expects (``total``, update, reset, close), in rich."""

    def __init__(self, description):
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        self._progress = Progress(
            *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn()
        )
        self._task = self._progress.add_task(description, total=None)
        self._progress.start()

    @property
    def total(self):
        return self._progress.tasks[0].total

    @total.setter
    def total(self, value):
        self._progress.update(self._task, total=value or None)

    def update(self, n):
        self._progress.advance(self._task, n)

    def reset(self):
        self._progress.reset(self._task, total=self.total)

    def close(self):
        self._progress.stop()
