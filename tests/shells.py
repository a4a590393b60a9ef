"""Close the IPython shells the tests make, as IPython closes its own shell when the process exits.

Every ``InteractiveShell`` registers ``atexit_operations`` with ``atexit`` when
it is made, and puts its namespace in ``sys.modules["__main__"]``, keeping the
one it replaced (the previous shell's); ``clear_instance()`` only forgets the
singleton. A suite of hundreds of shells then kept every one alive (namespace,
history thread, sqlite connection) until the end, and pytest spent minutes after
its summary line resetting them one by one, each reset a full ``gc.collect()``
over a heap that held all the others. Closing a shell when its test ends frees
it then (IPython's completer keeps the very first shell's ``__main__``: one).
"""

from __future__ import annotations

import atexit

from IPython.core.interactiveshell import InteractiveShell


def close_shell(shell: InteractiveShell) -> None:
    """Run the shell's exit operations now (history session ended, saving thread joined, namespace
    cleared, temp files removed), take them off the interpreter's exit list, and give back the
    ``sys.modules["__main__"]`` it replaced.

    Close shells in the reverse order of their making: each one put back the module that was
    ``__main__`` when it was made, which is the previous shell's namespace.
    """
    atexit.unregister(shell.atexit_operations)
    # Its reset would flush the output cache, which ends in a full gc.collect() of the test process:
    # a third of a second per test, for objects that the cyclic collector frees anyway.
    shell.displayhook.do_full_cache = False
    if getattr(shell, "tempfiles", None) is not None:  # atexit_operations deletes it: closed already
        shell.atexit_operations()
    shell.cleanup()



def run_cell_for_status(shell: InteractiveShell, cell: str) -> str:
    """Run a cell, its output captured; return wfnb's status line(s) for it ("" if it printed none)."""
    from IPython.utils.capture import capture_output

    with capture_output() as io:
        result = shell.run_cell(cell)
    result.raise_error()
    return "\n".join(o.data["text/plain"] for o in io.outputs if o.metadata.get("wfnb") == "status")
