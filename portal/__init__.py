"""The township portal: each township downloads its own list and returns its findings; counties and
the city watch.

- ``settings``: rules/portal.yaml and where the users file, secret and uploads live;
- ``accounts``: the users file (roles, areas, argon2 password hashes) and ``active-discovery user``;
- ``scope``: who may see which township, county, case and file (pure functions, unit-tested);
- ``access``: the portal's rows in the case store's audit table (logins, downloads, uploads);
- ``data``: the published workbooks and the cases, read within a scope;
- ``app``: the FastAPI application (server-rendered Jinja2 pages, no JavaScript).
"""
