"""Tests of sandbox.progress: the chunks tile the range, few of them, and no bar off a terminal."""
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.progress import progress_chunks


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


@given(st.integers(0, 10**6), st.integers(1, 200), st.integers(1, 1000))
def test_chunks_tile_the_range_in_at_most_max_updates_pieces(total, max_updates, min_chunk):
    chunks = list(progress_chunks(total, max_updates=max_updates, min_chunk=min_chunk, file=FakeTerminal()))
    assert [c[0] for c in chunks] == ([0] + [c[1] for c in chunks[:-1]] if total else [])
    assert (chunks[-1][1] if chunks else 0) == total and all(start < stop for start, stop in chunks)
    assert len(chunks) <= max(max_updates, 1)
    assert all((stop - start) % min_chunk == 0 for start, stop in chunks[:-1])


def test_a_bar_only_on_a_terminal_and_only_when_asked():
    term = FakeTerminal()
    assert len(list(progress_chunks(1000, file=term, desc="ula", min_seconds=0.0))) == 100
    assert "ula" in term.getvalue() and "1.00k/1.00k" in term.getvalue()
    quiet = FakeTerminal()
    assert list(progress_chunks(1000, progress=False, file=quiet)) == [(0, 1000)]
    assert quiet.getvalue() == ""
    pipe = io.StringIO()
    assert list(progress_chunks(1000, file=pipe)) == [(0, 1000)]
    assert pipe.getvalue() == ""


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="total must be an integer >= 0, got -1"):
        list(progress_chunks(-1))
    with pytest.raises(ValueError, match="max_updates must be an integer >= 1, got 0"):
        list(progress_chunks(10, max_updates=0))


def test_chunks_grow_to_about_min_seconds_once_the_pace_is_known():
    """A consumer that spends 2 ms per chunk of 10 steps (5000 steps/s): with min_seconds = 0.02
    the chunks after the first hold up to 100 steps, never fewer than total / max_updates."""
    import time

    chunks = []
    for start, stop in progress_chunks(1000, file=FakeTerminal(), min_seconds=0.02):
        chunks.append(stop - start)
        time.sleep(0.0002 * (stop - start))
    assert chunks[0] == 10 and sum(chunks) == 1000
    # sleeping can only take longer than asked, which makes chunks smaller, never larger
    assert all(10 <= c <= 110 for c in chunks[:-1]) and chunks[-1] <= 110 and max(chunks) > 10, chunks
