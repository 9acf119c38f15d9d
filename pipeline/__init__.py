"""Pipeline stages: thin commands that read files, call the libraries and write outputs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("credit-admission")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
