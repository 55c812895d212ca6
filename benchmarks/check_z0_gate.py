"""Count the true pairs that the shipped models' z0 gates would leave out on the evaluation sets.

The evaluation sets are those of the model cards, 1000 simulated timeslices each with seed
12345. The SPD model's sets have 10 and 15 SPD-like collisions of up to 5 tracks, and the
TrackML-like model's sets 10 and 15 TrackML-like collisions of up to 4 tracks. For each set
this prints the gate, the fraction of all pairs inside it (the pairs the classifier
scores), and the true pairs outside it.

    python benchmarks/check_z0_gate.py
"""

from __future__ import annotations

from gann_core.fit import fit_tracks
from gann_core.model.saved import Model
from gann_core.pairs import all_pairs, pair_geometry, same_event
from gann_core.simulate import SimulationConfig, simulate_timeslices

SETS = (("spd", 10, 5), ("spd", 15, 5), ("trackml", 10, 4), ("trackml", 15, 4))


def main() -> int:
    for geometry, n_events, max_tracks in SETS:
        gate = Model.load(geometry).config.z0_gate_mm
        config = SimulationConfig.for_geometry(geometry, n_events=n_events, max_tracks=max_tracks)
        table = simulate_timeslices(config, 1000, seed=12345)
        pairs = all_pairs(table)
        dz0 = pair_geometry(fit_tracks(table), pairs).dz0
        truth = same_event(table, pairs)
        inside = dz0 <= gate
        print(
            f"{geometry} model, {geometry}-like N_ev = {n_events}: gate {gate:.2f} mm, {inside.mean():.3f} of the pairs "
            f"inside, {int((truth & ~inside).sum())} of {int(truth.sum())} true pairs outside"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
