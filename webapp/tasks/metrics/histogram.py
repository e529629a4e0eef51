"""The metrics' histogram bins, and percentiles read from them.

Log-linear bins, as HdrHistogram's: one bin per microsecond below 32 µs, then each
power of two [2**e, 2**(e+1)) split into SUB_BINS equal bins. A bin is at most
1/SUB_BINS of its lower bound wide, so a percentile interpolated inside its bin is
within RELATIVE_ERROR (6.25 %) of the true value, whatever the scale, from
microseconds to days. Migration 0021's triggers put each time in its bin with the
same arithmetic (bin_of), in SQL.
"""

from collections.abc import Iterable, Mapping

SUB_BINS = 16
LAST_OCTAVE = 40  # times of 2**41 µs (25 days) and more share the last bin
LAST_BIN = SUB_BINS * (LAST_OCTAVE - 3) - 1
NONE = -1  # no time: the task never started
RELATIVE_ERROR = 1 / SUB_BINS


def bin_of(micros: int) -> int:
    """The bin a time in whole microseconds falls in (migration 0021's CASE)."""
    micros = max(0, micros)
    if micros < 2 * SUB_BINS:
        return micros
    octave = micros.bit_length() - 1
    if octave > LAST_OCTAVE:
        return LAST_BIN
    return SUB_BINS * (octave - 4) + (micros >> (octave - 4))


def bounds(bin_number: int) -> tuple[int, int]:
    """The bin's lower bound (included) and upper bound (excluded), in microseconds."""
    if bin_number < 2 * SUB_BINS:
        return bin_number, bin_number + 1
    octave, step = divmod(bin_number, SUB_BINS)
    octave += 3
    width = 1 << (octave - 4)
    lower = (SUB_BINS + step) * width
    return lower, lower + width


def percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """The time (seconds) below which `fraction` of the counted times fall, or None
    when nothing was counted. Interpolated inside its bin: the k-th smallest of n
    times (k = fraction * n, at least 1) sits in the bin where the running count
    reaches k, and the bin's width is shared evenly among its count."""
    timed = sorted((b, n) for b, n in counts.items() if b != NONE and n > 0)
    total = sum(n for _, n in timed)
    if not total:
        return None
    rank = max(1.0, fraction * total)
    below = 0
    for bin_number, n in timed:
        if below + n >= rank:
            lower, upper = bounds(bin_number)
            return (lower + (upper - lower) * (rank - below) / n) / 1_000_000
        below += n
    return bounds(timed[-1][0])[1] / 1_000_000


def merged(histograms: Iterable[Mapping[int, int]]) -> dict[int, int]:
    out: dict[int, int] = {}
    for histogram in histograms:
        for bin_number, n in histogram.items():
            out[bin_number] = out.get(bin_number, 0) + n
    return out


def cumulative_at(counts: Mapping[int, int], upper_micros: int) -> int:
    """How many counted times are below `upper_micros`, which must be a bin bound
    (a power of two, as Prometheus' `le` buckets here are): exact, no interpolation."""
    return sum(n for b, n in counts.items() if b != NONE and bounds(b)[1] <= upper_micros)
