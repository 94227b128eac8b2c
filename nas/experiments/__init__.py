"""Experiments on given networks: sample or describe topologies, prune dense models, match a
pruned model to a Sparse-RNN's size (evaluating graphs lives in ``models.evaluation``).

Imports graphs/, models/, predictors/, nas.tasks and, to read a finished search's results,
nas.search.results; never nas.cli.
"""
