"""The application layer: tasks, search, experiments, reports and the ``nas`` command line.

Only this package sees every other one (graphs/, models/, predictors/).
"""
