"""The faces of wfnb: the magics, the ``wfnb`` command, the browser and ``wfnb.*``."""
