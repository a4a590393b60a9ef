"""A step that appends to a file (a log, a results table) appends again on a hit, as a run would;
the file is never left as if the step had not run."""

from __future__ import annotations

STEP = "%%step score\nscore = 0.5 + 0.25\nwith open('results.csv', 'a') as out:\n    out.write(f'run,{score}\\n')"


def test_a_hit_appends_the_lines_the_step_appended(lab):
    lab.write("results.csv", "name,score\n")
    session = lab.run([STEP])
    session.run(STEP)
    assert session.last.cached, session.last.status
    again = lab.run([STEP])
    assert again.last.cached, again.last.status
    assert (lab.root / "results.csv").read_text() == "name,score\n" + "run,0.75\n" * 3


def test_a_step_that_rewrites_the_file_it_appended_to_is_an_ordinary_output(lab):
    step = "%%step fresh\nwith open('log.txt', 'w') as out:\n    out.write('start\\n')\nwith open('log.txt', 'a') as out:\n    out.write('more\\n')"
    session = lab.run([step])
    session.run(step)
    assert session.last.cached, session.last.status
    assert (lab.root / "log.txt").read_text() == "start\nmore\n"
