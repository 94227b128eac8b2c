"""Regressors from graph features to accuracy, with an uncertainty for each prediction.

Every model is a scikit-learn Pipeline: ``StandardScaler`` then the regressor. Five kinds:

=============  ==================================================  =========================
kind           regressor                                           ``predict(return_std)``
=============  ==================================================  =========================
bayesridge     ``BayesianRidge`` (thesis)                          its posterior predictive sd
rf             ``RandomForestRegressor`` (thesis)                  sd over the trees
adaboost       ``AdaBoostRegressor``, depth-3 trees (thesis)       sd over bootstrap refits
xgboost        ``xgboost.XGBRegressor``, depth 3, lr 0.05           sd over bootstrap refits
extratrees     ``ExtraTreesRegressor`` (ours: strong on small      sd over the trees
               tabular data, and its trees give a spread for free)
=============  ==================================================  =========================

Boosted trees add up, so single trees give no spread: ``n_bootstrap`` extra copies are fitted
on bootstrap resamples of the training rows, and their standard deviation is the
uncertainty (the point prediction stays the model fitted on all rows). With
``n_bootstrap=0`` they give no uncertainty and ``return_std`` is an error.

``GraphRegressor(kind="auto")`` picks the kind with the best mean Kendall tau over an inner
K-fold split of the training data inside ``fit``; evaluated by the outer cross-validation
(``predictors.validation``) that makes the choice nested, never tuned on a test fold.
``tune=True`` likewise searches a forest's ``TUNING_GRID`` (its share of features per split
and its smallest leaf) by mean R² over an inner K-fold split of the training data only; the
defaults suit the thesis' features, and a wider feature set (``all+wiring+proxies``) may
want fewer features per split or larger leaves.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import kendalltau
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import AdaBoostRegressor, ExtraTreesRegressor, RandomForestRegressor
from sklearn.linear_model import BayesianRidge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from xgboost import XGBRegressor

from core.errors import SparseNASError
from predictors.checks import INNER_FOLDS

# The names live in the light predictors.kinds (the command line reads them).
# Their home is the light predictors.names (the command line reads them).
from predictors.names import (  # noqa: F401 (CHOICES re-exported)
    CHOICES,
    KINDS,
    check_kind,
    check_tune,
)

_TREE_SPREAD = ("rf", "extratrees")
_BOOTSTRAP = ("adaboost", "xgboost")
# Tie-break and fallback order for "auto" (when every inner score is undefined).
_PREFERENCE = ("extratrees", "rf", "xgboost", "bayesridge", "adaboost")
_MAX_SEED = np.iinfo(np.int32).max

TUNING_GRID: dict[str, list[float]] = {
    "model__max_features": [0.3, 0.5, 1.0],
    "model__min_samples_leaf": [1, 3, 6],
}
"""What ``tune=True`` searches, for the forest kinds (``rf``, ``extratrees``)."""


def make_pipeline(kind: str, *, n_estimators: int = 200, random_state: int | None = None):
    """The unfitted Pipeline (StandardScaler + regressor) of ``kind``."""
    kind = check_kind(kind, allow_auto=False)
    if kind == "bayesridge":
        model = BayesianRidge()
    elif kind == "rf":
        model = RandomForestRegressor(
            n_estimators=n_estimators, max_features=0.5, random_state=random_state, n_jobs=1
        )
    elif kind == "extratrees":
        model = ExtraTreesRegressor(
            n_estimators=n_estimators, max_features=0.5, random_state=random_state, n_jobs=1
        )
    elif kind == "adaboost":
        model = AdaBoostRegressor(
            n_estimators=max(1, n_estimators // 2), learning_rate=0.5, random_state=random_state
        )
    else:
        model = XGBRegressor(
            n_estimators=n_estimators,
            max_depth=3,
            learning_rate=0.05,
            subsample=0.8,
            colsample_bytree=0.8,
            min_child_weight=1.0,
            random_state=random_state,
            n_jobs=1,
            verbosity=0,
        )
    return Pipeline([("scale", StandardScaler()), ("model", model)])


def kendall_tau(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Kendall's tau-b; NaN when either side is constant or has fewer than two values."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y_true.size < 2 or np.ptp(y_true) == 0 or np.ptp(y_pred) == 0:
        return float("nan")
    return float(kendalltau(y_true, y_pred).statistic)


class GraphRegressor(RegressorMixin, BaseEstimator):
    """Predict a network's accuracy from its graph features, with an uncertainty.

    Parameters
    ----------
    kind : ``"auto"`` or one of ``KINDS`` (see the module docstring).
    n_estimators : trees of the forests and of XGBoost (AdaBoost uses half as many).
    inner_cv : folds of the inner split ``kind="auto"`` chooses by (at most the number of
        rows; with fewer than 4 rows the preferred kind, extratrees, is taken).
    n_bootstrap : bootstrap refits that give the boosted kinds their uncertainty.
    tune : search ``TUNING_GRID`` by an inner ``inner_cv``-fold split (forest kinds, or
        ``auto`` when it picks one).
    random_state : int, RandomState or None; seeds the split, the models and the resamples.

    Attributes
    ----------
    model_ : the fitted Pipeline.
    kind_ : the kind fitted (the choice, for ``"auto"``).
    cv_scores_ : for ``"auto"``, the mean inner Kendall tau of each kind; else empty.
    best_params_ : with ``tune``, the grid point chosen; else empty.
    bootstraps_ : the bootstrap Pipelines of a boosted kind (empty otherwise).
    n_features_in_, feature_names_in_ : as in scikit-learn.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)); y = X[:, 0] + 0.1 * rng.normal(size=60)
    >>> model = GraphRegressor(kind="rf", n_estimators=20, random_state=0).fit(X, y)
    >>> mean, std = model.predict(X[:2], return_std=True)
    >>> tuned = GraphRegressor(kind="extratrees", n_estimators=20, tune=True, random_state=0)
    >>> sorted(tuned.fit(X, y).best_params_)
    ['model__max_features', 'model__min_samples_leaf']
    """

    def __init__(
        self,
        kind: str = "auto",
        n_estimators: int = 200,
        inner_cv: int = INNER_FOLDS,
        n_bootstrap: int = 5,
        tune: bool = False,
        random_state=None,
    ) -> None:
        self.kind = kind
        self.n_estimators = n_estimators
        self.inner_cv = inner_cv
        self.n_bootstrap = n_bootstrap
        self.tune = tune
        self.random_state = random_state

    def fit(self, X, y):
        """Fit the regressor (choosing the kind first for ``"auto"``); returns self."""
        kind = check_kind(self.kind)
        for name in ("n_estimators", "inner_cv"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise SparseNASError(f"{name} must be a positive integer (got {value!r})")
        if not isinstance(self.n_bootstrap, (int, np.integer)) or self.n_bootstrap < 0:
            raise SparseNASError(
                f"n_bootstrap must be a non-negative integer (got {self.n_bootstrap!r})"
            )
        if not isinstance(self.tune, (bool, np.bool_)):
            raise SparseNASError(f"tune must be True or False (got {self.tune!r})")
        check_tune(kind, bool(self.tune))
        X, y = validate_data(self, X, y, y_numeric=True)
        rng = check_random_state(self.random_state)
        self.cv_scores_: dict[str, float] = {}
        self.best_params_: dict[str, float] = {}
        if kind == "auto":
            kind = self._choose(X, y, int(rng.randint(_MAX_SEED)))
        self.kind_ = kind
        model = self._pipeline(kind, int(rng.randint(_MAX_SEED)))
        if self.tune and kind in _TREE_SPREAD:
            self.best_params_ = self._search(model, X, y, int(rng.randint(_MAX_SEED)))
            model.set_params(**self.best_params_)
        self.model_ = model.fit(X, y)
        self.bootstraps_: list[Pipeline] = []
        if kind in _BOOTSTRAP:
            for _ in range(int(self.n_bootstrap)):
                rows = rng.randint(0, X.shape[0], size=X.shape[0])
                copy = self._pipeline(kind, int(rng.randint(_MAX_SEED)))
                self.bootstraps_.append(copy.fit(X[rows], y[rows]))
        return self

    def predict(self, X, return_std: bool = False):
        """Predicted accuracy; with ``return_std`` also its standard deviation (see above)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False)
        if return_std and self.kind_ in _TREE_SPREAD:  # the trees predict once for both
            per_tree = self._per_tree(X)
            mean = np.zeros(X.shape[0])
            for prediction in per_tree:  # the forest's own mean: summed in tree order
                mean += prediction
            return mean / len(per_tree), per_tree.std(axis=0)
        mean = self.model_.predict(X)
        if not return_std:
            return mean
        return mean, self._std(X)

    # -- helpers ----------------------------------------------------------------------------------

    def _pipeline(self, kind: str, seed: int) -> Pipeline:
        return make_pipeline(kind, n_estimators=int(self.n_estimators), random_state=seed)

    def _search(self, model: Pipeline, X: np.ndarray, y: np.ndarray, seed: int) -> dict:
        """The ``TUNING_GRID`` point with the best mean inner R² (the defaults when the
        training rows are too few to split)."""
        n_splits = min(int(self.inner_cv), X.shape[0] // 2)
        if n_splits < 2:
            return {name: model.get_params()[name] for name in TUNING_GRID}
        inner = KFold(n_splits, shuffle=True, random_state=seed)
        search = GridSearchCV(model, TUNING_GRID, cv=inner, refit=False, n_jobs=1)
        return dict(search.fit(X, y).best_params_)

    def _choose(self, X: np.ndarray, y: np.ndarray, seed: int) -> str:
        n_splits = min(int(self.inner_cv), X.shape[0])
        if n_splits < 2 or X.shape[0] < 4:
            return _PREFERENCE[0]
        splits = list(KFold(n_splits, shuffle=True, random_state=seed).split(X))
        for kind in KINDS:
            taus = []
            for number, (train, test) in enumerate(splits):
                model = self._pipeline(kind, seed + number).fit(X[train], y[train])
                taus.append(kendall_tau(y[test], model.predict(X[test])))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN folds
                self.cv_scores_[kind] = float(np.nanmean(taus))
        scored = [k for k in _PREFERENCE if np.isfinite(self.cv_scores_[k])]
        if not scored:
            return _PREFERENCE[0]
        # max keeps the first of equal scores, so ties go by _PREFERENCE.
        return max(scored, key=lambda k: self.cv_scores_[k])

    def _per_tree(self, X: np.ndarray) -> np.ndarray:
        """(trees, rows): each tree's prediction of a forest kind."""
        scaled = self.model_[:-1].transform(X)
        return np.stack([tree.predict(scaled) for tree in self.model_[-1].estimators_])

    def _std(self, X: np.ndarray) -> np.ndarray:
        if self.kind_ == "bayesridge":
            return self.model_[-1].predict(self.model_[:-1].transform(X), return_std=True)[1]
        if not self.bootstraps_:
            raise SparseNASError(
                f"a {self.kind_} model gives an uncertainty only with n_bootstrap >= 1 "
                f"(got n_bootstrap={self.n_bootstrap})"
            )
        return np.stack([copy.predict(X) for copy in self.bootstraps_]).std(axis=0)


def clone_without_bootstrap(estimator):
    """A clone that skips the bootstrap refits (cross-validation scores need no spread)."""
    copy = clone(estimator)
    if "n_bootstrap" in copy.get_params():
        copy.set_params(n_bootstrap=0)
    return copy
