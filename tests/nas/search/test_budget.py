"""Sharing the budget between workers: worked examples on hand-made trials."""

from optuna.trial import TrialState, create_trial

from nas.search.budget import budget_claimed, claims_bound, is_surplus, share
from nas.search.records import claims


def _trial(number: int, state: TrialState, **attrs):
    value = 0.5 if state == TrialState.COMPLETE else None
    trial = create_trial(state=state, user_attrs=attrs, value=value)
    trial.number = number
    return trial


def _running(number: int, **attrs):
    trial = create_trial(state=TrialState.COMPLETE, value=0.5, user_attrs=attrs)
    trial.state = TrialState.RUNNING  # create_trial makes only finished trials
    trial.number = number
    return trial


# 0: trained; 1: training (has its seed); 2: asked by some worker, not training yet;
# 3: lost (queued again: no claim); 4: invalid (never trained).
STUDY = [
    _trial(0, TrialState.COMPLETE, train_seed=1, status="ok"),
    _running(1, train_seed=1),
    _running(2),
    _trial(3, TrialState.FAIL, train_seed=1, status="lost"),
    _trial(4, TrialState.FAIL, status="invalid"),
]


def test_claims_count_started_networks_and_asked_trials():
    assert claims(STUDY) == 3  # 0, 1 and 2


def test_a_worker_gets_an_even_share_of_what_is_left():
    assert share(left=10, free=16, peers=3) == 4  # ceil(10 / 3)
    assert share(left=10, free=2, peers=3) == 2  # no more than the free slots
    assert share(left=1, free=16, peers=1) == 1


def test_the_budget_is_claimed_by_started_asked_and_other_workers_trials():
    # Budget 4: 0 and 1 started, 2 asked elsewhere -> 3 claimed; one more may be asked.
    assert not budget_claimed(4, STUDY, asked=0, own=set())
    assert budget_claimed(4, STUDY, asked=1, own=set())
    # Trial 2 is this worker's own (already in ``asked``): it does not count twice.
    assert not budget_claimed(4, STUDY, asked=1, own={2})


def test_of_two_racing_claims_the_later_trial_is_the_surplus():
    # Budget 2: trials 0 and 1 fill it, so trial 2 (asked a moment later) is the one too many.
    assert not is_surplus(2, 1, STUDY)
    assert is_surplus(2, 2, STUDY)
    assert not is_surplus(3, 2, STUDY)


def test_a_bound_on_claims_from_an_older_read_counts_every_claim_that_can_have_appeared():
    # STUDY's claims: 0, 1, 2. Trial 5 asked now is new: it and nothing else since the read.
    assert claims_bound(STUDY, 5) == 4
    assert claims_bound(STUDY, 7) == 6  # trials 5 and 6: created since, maybe another worker's
    assert claims_bound(STUDY, 2) == 3  # trials numbered after 2 do not count against it
    queued = create_trial(state=TrialState.WAITING)
    queued.number = 5
    assert claims_bound([*STUDY, queued], 6) == 5  # the queued trial: taken by someone, maybe
    assert claims_bound([*STUDY, queued], 5) == 4  # taken by this worker: trial 5 itself


def test_the_bound_is_never_below_the_exact_count_of_a_new_read():
    later = [*STUDY, _running(5), _trial(6, TrialState.FAIL, status="invalid"), _running(7)]
    for number in range(8):
        exact = claims([t for t in later if t.number <= number])
        assert claims_bound(STUDY, number) >= exact
        assert claims_bound(later, number) == exact  # a read taken after every ask is exact
