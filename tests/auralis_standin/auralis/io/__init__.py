from auralis.io.loader import load
from auralis.io.saver import save

__all__ = ["load", "save"]
