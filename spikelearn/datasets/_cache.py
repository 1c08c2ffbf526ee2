"""Where spikelearn keeps downloaded and generated data."""

import os
from pathlib import Path

import pooch

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
