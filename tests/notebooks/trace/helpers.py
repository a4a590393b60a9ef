"""Helpers the states notebook imports inside its steps."""

DENSITY_UNIT = "per km²"


def density(frame):
    """People per square kilometre."""
    return frame["population"] / frame["area"]
