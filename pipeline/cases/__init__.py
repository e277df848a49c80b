"""Cases: every warning followed from raised to answered, verified and revisited (the closed loop).

- ``config``: rules/cases.yaml, the lifecycle as data;
- ``db``: the tables and their Alembic migrations (SQLite in the state folder, or PostgreSQL);
- ``store``: reading and writing cases, with an audit row for every change;
- ``night``: what each night does with the cases (a table in, a table out);
- ``feedback``: returned township workbooks checked and applied;
- ``views``: what the workbooks and the summary show of them.
"""
