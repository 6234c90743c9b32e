"""The statutory annual report (regulation 13) and the import of past records.

`importer` loads historic representations from CSV or Excel (`layout` documents the columns);
`compute` turns the case record into report tables with SQL aggregation (`queries`);
`html`, `exports` and `charts` render them; `web` serves them to officers.
"""
