"""A SQLite database opened through a path built at run time is a file the step read."""

from __future__ import annotations

from tests.trace.test_more_habits import outside

MAKE = "import sqlite3\nc = sqlite3.connect('data/shop.db')\nc.execute('create table t (v)')\nc.execute('insert into t values (1)')\nc.commit()\nc.close()"
STEP = "%%step total\nimport sqlite3\nname = 'shop'\nwith sqlite3.connect(f'data/{name}.db') as db:\n    total = db.execute('select sum(v) from t').fetchone()[0]\ndb.close()\ndel db"


def test_a_database_opened_by_a_computed_path_is_followed(lab):
    (lab.root / "data").mkdir()
    outside(lab, MAKE)
    session = lab.run([STEP])
    assert session.value("total") == "1"
    session.run(STEP)
    assert session.last.cached, session.last.status
    outside(lab, "import sqlite3\nc = sqlite3.connect('data/shop.db')\nc.execute('insert into t values (5)')\nc.commit()\nc.close()")
    session.run(STEP)
    assert session.last.ran and session.value("total") == "6", session.last.status
