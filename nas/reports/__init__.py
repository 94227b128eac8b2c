"""Reports of searches (room for the ranking reports): read a study or an evaluations table,
return figures and tables, write report.html / report.md.

Imports graphs/, predictors/ and nas.search.results; never nas.cli.
"""
