"""active-discovery: find people who qualify for social assistance but do not receive it.

The library is Prefect-free; ``flows/`` orchestrates it. Stages, in the one direction data flows:
ingest -> normalize -> validate (this package's first stage), then matching, households, rules,
reports and cases.
"""

__version__ = "0.1.0"
