"""Erlang C: how many agents keep the wait for a first answer within a target.

With arrivals at rate lambda (Poisson), a mean handle time h (exponential) and N agents serving one
first-come first-served queue, the offered load is A = lambda * h erlangs and, for N > A,

    P(wait > 0) = C(N, A) = (A^N / N! * N / (N - A)) / (sum_{k=0}^{N-1} A^k / k! + A^N / N! * N / (N - A))
    service level(t) = P(wait <= t) = 1 - C(N, A) * exp(-(N - A) * t / h)

(A. K. Erlang, 1917; e.g. Gans, Koole & Mandelbaum, "Telephone call centers: tutorial, review,
and research prospects", M&SOM 5(2), 2003, section 4.1). For N <= A the queue grows without
bound: the service level is 0. `C` is computed from the Erlang B recursion
B(0) = 1, B(k) = A B(k-1) / (k + A B(k-1)), C = N B / (N - A (1 - B)), which stays finite for
hundreds of agents where the factorials would overflow.
"""

from __future__ import annotations

import math

MAX_AGENTS = 10_000


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of `agents` servers offered `load` erlangs (Erlang B)."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must not be negative")
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = load * blocking / (k + load * blocking)
    return blocking


def probability_of_waiting(agents: int, load: float) -> float:
    """Erlang C: the share of arrivals that wait at all (1.0 when `agents` <= `load`)."""
    if load == 0:
        return 0.0
    if agents <= load:
        return 1.0
    blocking = erlang_b(agents, load)
    return agents * blocking / (agents - load * (1 - blocking))


def service_level(agents: int, arrivals_per_hour: float, handle_hours: float, target_hours: float) -> float:
    """The share of arrivals answered within `target_hours` by `agents` (0.0 when overloaded)."""
    load = arrivals_per_hour * handle_hours
    if load == 0:
        return 1.0
    if agents <= load:
        return 0.0
    waiting = probability_of_waiting(agents, load)
    return max(0.0, 1.0 - waiting * math.exp(-(agents - load) * target_hours / handle_hours))


def agents_needed(
    arrivals_per_hour: float,
    handle_hours: float,
    target_hours: float,
    goal: float,
    max_occupancy: float = 1.0,
) -> int:
    """The fewest agents that answer `goal` (0-1) of the arrivals within `target_hours` and keep
    each agent busy at most `max_occupancy` of the time. 0 when nothing arrives."""
    if not 0 < goal < 1:
        raise ValueError(f"service level goal {goal} must be between 0 and 1")
    if not 0 < max_occupancy <= 1:
        raise ValueError(f"maximum occupancy {max_occupancy} must be in (0, 1]")
    load = arrivals_per_hour * handle_hours
    if load <= 0:
        return 0
    agents = max(1, math.floor(load) + 1, math.ceil(load / max_occupancy - 1e-9))
    while service_level(agents, arrivals_per_hour, handle_hours, target_hours) < goal:
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(
                f"more than {MAX_AGENTS} agents needed for {arrivals_per_hour:g} tickets per hour"
            )
    return agents
